// The chain side of the bridge end-to-end test (issue 6, "a Ronin-style test on anvil"): a second
// anvil as the bridge's SOURCE chain (chain id 31338; the harness's anvil with the Safes, 31337, is the
// DESTINATION), the source token, a deposit contract assembled here by hand (no compiler), the EIP-712
// withdrawal attestation txguard verifies, nine validator keys under six operators, and txguard's
// validator set file.
//
//   const source = await startSourceChain({log});        // anvil 31338 + ERC-20 + deposit contract
//   const dep = await source.deposit({from, amount, recipient});   // approve + deposit, decoded event
//   await source.mine(1);                                 // one more block: a confirmation
//   const sig = await signAttestation(VALIDATORS[0].key, attestationDomain(31337, bridge), message);
//   await source.stop();
//
// The deposit contract ("DepositBox"), runtime code in the listing below:
//
//   deposit(address token, uint256 amount, address recipient, uint256 destChainId)   selector 0x90d25074
//     - non-payable; calldata at least 4 + 4 * 32 bytes; token and recipient clean addresses (upper
//       96 bits zero), else revert, as Solidity's ABI decoder would;
//     - token must have code, then token.transferFrom(msg.sender, address(this), amount); reverts
//       unless the call succeeded and returned nothing or exactly the word 1 (true), the rule of
//       OpenZeppelin's SafeERC20;
//     - nonce = storage slot 0, incremented first, so the first deposit has nonce 1;
//     - emits Deposit(address indexed token, address indexed sender, address recipient,
//       uint256 amount, uint256 destChainId, uint256 nonce)
//       topic0 0x76fbc6746f9766ec8a8dc297122a14d120cc5fc43cd3f389031392fd382a236e.
//   Any other selector (and empty calldata, and ETH) reverts with no data.
//
// The creation code is a 13-byte prefix that copies the runtime code to memory and returns it:
//   PUSH2 <runtime length>  DUP1  PUSH2 0x000d  PUSH1 0  CODECOPY  PUSH1 0  RETURN
//
// Listing of the runtime code as the assembler below emits it (offset, bytes, instruction; the stack
// after each step, top first, in the comment). Regenerate with `node e2e/bridge_chain.mjs --listing`;
// the self-check (`node e2e/run.mjs --only bridge-chain`) fails if the code and the listing disagree.
//
// LISTING-BEGIN
// 0000  6000      PUSH1 0x00           ; [0]
// 0002  35        CALLDATALOAD         ; [word0]
// 0003  60e0      PUSH1 0xe0           ; [224, word0]
// 0005  1c        SHR                  ; [selector]
// 0006  6390d25074 PUSH4 0x90d25074     ; deposit(address,uint256,address,uint256)
// 000b  14        EQ                   ; [selector == deposit]
// 000c  610015    PUSH2 @deposit
// 000f  57        JUMPI                ; to deposit if it is
// 0010  @revert:
// 0010  5b        JUMPDEST
// 0011  6000      PUSH1 0x00
// 0013  80        DUP1
// 0014  fd        REVERT               ; revert(0, 0)
// 0015  @deposit:
// 0015  5b        JUMPDEST
// 0016  34        CALLVALUE            ; [msg.value]
// 0017  610010    PUSH2 @revert
// 001a  57        JUMPI                ; non-payable: revert if value > 0
// 001b  6084      PUSH1 0x84           ; [132]
// 001d  36        CALLDATASIZE         ; [size, 132]
// 001e  10        LT                   ; [size < 132]
// 001f  610010    PUSH2 @revert
// 0022  57        JUMPI                ; 4 + 4 words of arguments, at least
// 0023  6004      PUSH1 0x04
// 0025  35        CALLDATALOAD         ; [token]
// 0026  60a0      PUSH1 0xa0
// 0028  1c        SHR                  ; [token >> 160]
// 0029  610010    PUSH2 @revert
// 002c  57        JUMPI                ; token is a clean address
// 002d  6044      PUSH1 0x44
// 002f  35        CALLDATALOAD         ; [recipient]
// 0030  60a0      PUSH1 0xa0
// 0032  1c        SHR                  ; [recipient >> 160]
// 0033  610010    PUSH2 @revert
// 0036  57        JUMPI                ; recipient is a clean address
// 0037  6004      PUSH1 0x04
// 0039  35        CALLDATALOAD         ; [token]
// 003a  3b        EXTCODESIZE          ; [codesize(token)]
// 003b  15        ISZERO
// 003c  610010    PUSH2 @revert
// 003f  57        JUMPI                ; token has code (a call to an EOA "succeeds")
// 0040  6323b872dd PUSH4 0x23b872dd     ; transferFrom(address,address,uint256)
// 0045  60e0      PUSH1 0xe0
// 0047  1b        SHL                  ; [selector << 224]
// 0048  6000      PUSH1 0x00
// 004a  52        MSTORE               ; mem[0x00..0x04] = selector
// 004b  33        CALLER
// 004c  6004      PUSH1 0x04
// 004e  52        MSTORE               ; mem[0x04..0x24] = from: msg.sender
// 004f  30        ADDRESS
// 0050  6024      PUSH1 0x24
// 0052  52        MSTORE               ; mem[0x24..0x44] = to: this contract
// 0053  6024      PUSH1 0x24
// 0055  35        CALLDATALOAD         ; [amount]
// 0056  6044      PUSH1 0x44
// 0058  52        MSTORE               ; mem[0x44..0x64] = amount
// 0059  6020      PUSH1 0x20           ; retSize 32
// 005b  6000      PUSH1 0x00           ; retOffset 0
// 005d  6064      PUSH1 0x64           ; argsSize 100
// 005f  6000      PUSH1 0x00           ; argsOffset 0
// 0061  6000      PUSH1 0x00           ; value 0
// 0063  6004      PUSH1 0x04
// 0065  35        CALLDATALOAD         ; address: token
// 0066  5a        GAS                  ; gas: all
// 0067  f1        CALL                 ; [success]
// 0068  15        ISZERO
// 0069  610010    PUSH2 @revert
// 006c  57        JUMPI                ; the call reverted: revert
// 006d  3d        RETURNDATASIZE       ; [rds]
// 006e  15        ISZERO
// 006f  610086    PUSH2 @accepted
// 0072  57        JUMPI                ; returned nothing: accepted (USDT-style tokens)
// 0073  6020      PUSH1 0x20
// 0075  3d        RETURNDATASIZE       ; [rds, 32]
// 0076  10        LT                   ; [rds < 32]
// 0077  610010    PUSH2 @revert
// 007a  57        JUMPI                ; returned less than a word: revert
// 007b  6000      PUSH1 0x00
// 007d  51        MLOAD                ; [returned word]
// 007e  6001      PUSH1 0x01
// 0080  14        EQ                   ; [word == 1]
// 0081  15        ISZERO
// 0082  610010    PUSH2 @revert
// 0085  57        JUMPI                ; anything but true: revert
// 0086  @accepted:
// 0086  5b        JUMPDEST
// 0087  6000      PUSH1 0x00
// 0089  54        SLOAD                ; [nonce]
// 008a  6001      PUSH1 0x01
// 008c  01        ADD                  ; [nonce + 1]
// 008d  80        DUP1                 ; [n, n]
// 008e  6000      PUSH1 0x00
// 0090  55        SSTORE               ; slot 0 = n; [n]
// 0091  6044      PUSH1 0x44
// 0093  35        CALLDATALOAD         ; [recipient, n]
// 0094  6000      PUSH1 0x00
// 0096  52        MSTORE               ; data word 0: recipient; [n]
// 0097  6024      PUSH1 0x24
// 0099  35        CALLDATALOAD         ; [amount, n]
// 009a  6020      PUSH1 0x20
// 009c  52        MSTORE               ; data word 1: amount; [n]
// 009d  6064      PUSH1 0x64
// 009f  35        CALLDATALOAD         ; [destChainId, n]
// 00a0  6040      PUSH1 0x40
// 00a2  52        MSTORE               ; data word 2: destChainId; [n]
// 00a3  6060      PUSH1 0x60
// 00a5  52        MSTORE               ; data word 3: nonce; []
// 00a6  33        CALLER               ; topic 2: sender
// 00a7  6004      PUSH1 0x04
// 00a9  35        CALLDATALOAD         ; topic 1: token
// 00aa  7f76fbc6746f9766ec8a8dc297122a14d120cc5fc43cd3f389031392fd382a236e PUSH32 0x76fbc6746f9766ec8a8dc297122a14d120cc5fc43cd3f389031392fd382a236e ; topic 0: Deposit(address,address,address,uint256,uint256,uint256)
// 00cb  6080      PUSH1 0x80           ; size: 4 words
// 00cd  6000      PUSH1 0x00           ; offset 0
// 00cf  a3        LOG3                 ; emit Deposit
// 00d0  00        STOP
// LISTING-END
//
// The assembled code (also checked by the self-check):
// runtime 0x60003560e01c6390d2507414610015575b600080fd5b3461001057608436106100105760043560a01c6100105760443560a01c610010576004353b15610010576323b872dd60e01b6000523360045230602452602435604452602060006064600060006004355af115610010573d156100865760203d106100105760005160011415610010575b60005460010180600055604435600052602435602052606435604052606052336004357f76fbc6746f9766ec8a8dc297122a14d120cc5fc43cd3f389031392fd382a236e60806000a300
// creation 0x6100d18061000d6000396000f360003560e01c6390d2507414610015575b600080fd5b3461001057608436106100105760043560a01c6100105760443560a01c610010576004353b15610010576323b872dd60e01b6000523360045230602452602435604452602060006064600060006004355af115610010573d156100865760203d106100105760005160011415610010575b60005460010180600055604435600052602435602052606435604052606052336004357f76fbc6746f9766ec8a8dc297122a14d120cc5fc43cd3f389031392fd382a236e60806000a300

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bytesToHex,
  concatHex,
  decodeEventLog,
  encodeFunctionData,
  getAddress,
  hashTypedData,
  hexToBytes,
  keccak256,
  parseAbi,
  parseEther,
  recoverTypedDataAddress,
  stringToHex,
  toEventSelector,
  toFunctionSelector,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_ACCOUNTS, startChain } from './chain.mjs';
import { expect, expectEqual } from './util.mjs';

export const SOURCE_CHAIN_ID = 31338;
export const DESTINATION_CHAIN_ID = 31337;

// ---------------------------------------------------------------------------------------------
// ABIs: exactly the signatures the contract implements and txguard's route configuration names.

export const DEPOSIT_EVENT_SIGNATURE =
  'Deposit(address indexed token,address indexed sender,address recipient,uint256 amount,uint256 destChainId,uint256 nonce)';
export const DEPOSIT_ABI = parseAbi([
  'function deposit(address token, uint256 amount, address recipient, uint256 destChainId)',
  'event Deposit(address indexed token, address indexed sender, address recipient, uint256 amount, uint256 destChainId, uint256 nonce)',
]);
export const DEPOSIT_SELECTOR = toFunctionSelector('deposit(address,uint256,address,uint256)');
export const DEPOSIT_TOPIC = toEventSelector('Deposit(address,address,address,uint256,uint256,uint256)');
const ERC20_ARTIFACT = '@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json';
const TRANSFER_FROM_SELECTOR = toFunctionSelector('transferFrom(address,address,uint256)');
const ERC20_APPROVE_ABI = parseAbi([
  'function approve(address spender, uint256 amount) returns (bool)',
  'function transfer(address to, uint256 amount) returns (bool)',
]);

// ---------------------------------------------------------------------------------------------
// A tiny EVM assembler: one instruction per line, `@name:` defines a label, `PUSH2 @name` pushes its
// offset, `PUSHn 0x..` pushes a constant of exactly n bytes (checked), `; ...` is a comment.

const OPCODES = {
  STOP: 0x00, ADD: 0x01, LT: 0x10, GT: 0x11, EQ: 0x14, ISZERO: 0x15, SHL: 0x1b, SHR: 0x1c,
  ADDRESS: 0x30, CALLER: 0x33, CALLVALUE: 0x34, CALLDATALOAD: 0x35, CALLDATASIZE: 0x36,
  RETURNDATASIZE: 0x3d, EXTCODESIZE: 0x3b, CODECOPY: 0x39,
  POP: 0x50, MLOAD: 0x51, MSTORE: 0x52, SLOAD: 0x54, SSTORE: 0x55, JUMPI: 0x57, JUMPDEST: 0x5b, GAS: 0x5a,
  DUP1: 0x80, DUP2: 0x81, LOG3: 0xa3, CALL: 0xf1, RETURN: 0xf3, REVERT: 0xfd,
};
for (let n = 1; n <= 32; n += 1) OPCODES[`PUSH${n}`] = 0x5f + n;

/**
 * Assembles `source` (lines as described above). Returns {code: 0x-hex, listing: [lines]} where
 * each listing line shows the offset, the bytes, the instruction and its comment.
 */
export function assemble(source) {
  const lines = source.split('\n').map((raw) => {
    const at = raw.indexOf(';');
    return { text: (at >= 0 ? raw.slice(0, at) : raw).trim(), comment: at >= 0 ? raw.slice(at + 1).trim() : '' };
  }).filter((l) => l.text || l.comment);
  const labels = {};
  const sized = [];
  let offset = 0;
  for (const line of lines) {
    if (!line.text) continue;
    const label = line.text.match(/^@([A-Za-z_][\w]*):$/);
    if (label) {
      if (labels[label[1]] !== undefined) throw new Error(`assemble: label @${label[1]} defined twice`);
      labels[label[1]] = offset;
      sized.push({ ...line, label: label[1], offset });
      continue;
    }
    const [mnemonic, operand, ...rest] = line.text.split(/\s+/);
    if (rest.length) throw new Error(`assemble: too many operands in "${line.text}"`);
    const opcode = OPCODES[mnemonic];
    if (opcode === undefined) throw new Error(`assemble: unknown instruction "${mnemonic}"`);
    const width = mnemonic.startsWith('PUSH') ? Number(mnemonic.slice(4)) : 0;
    if ((width > 0) !== (operand !== undefined)) throw new Error(`assemble: "${line.text}": operand mismatch`);
    sized.push({ ...line, mnemonic, operand, opcode, width, offset });
    offset += 1 + width;
  }
  const bytes = [];
  const listing = [];
  for (const ins of sized) {
    const at = ins.offset.toString(16).padStart(4, '0');
    if (ins.label) { listing.push(`${at}  @${ins.label}:`); continue; }
    let operandBytes = [];
    if (ins.width) {
      let value;
      if (ins.operand.startsWith('@')) {
        value = labels[ins.operand.slice(1)];
        if (value === undefined) throw new Error(`assemble: undefined label ${ins.operand}`);
        value = BigInt(value);
      } else {
        value = BigInt(ins.operand);
      }
      if (value < 0n || value >= 1n << BigInt(8 * ins.width)) throw new Error(`assemble: ${ins.operand} does not fit ${ins.mnemonic}`);
      operandBytes = [...hexToBytes(`0x${value.toString(16).padStart(2 * ins.width, '0')}`)];
    }
    const encoded = [ins.opcode, ...operandBytes];
    bytes.push(...encoded);
    const hex = encoded.map((b) => b.toString(16).padStart(2, '0')).join('');
    const text = `${ins.mnemonic}${ins.operand !== undefined ? ` ${ins.operand}` : ''}`;
    listing.push(`${at}  ${hex.padEnd(9)} ${text.padEnd(20)}${ins.comment ? ` ; ${ins.comment}` : ''}`.trimEnd());
  }
  for (const [name, target] of Object.entries(labels)) {
    if (bytes[target] !== OPCODES.JUMPDEST) throw new Error(`assemble: label @${name} is not on a JUMPDEST`);
  }
  return { code: bytesToHex(new Uint8Array(bytes)), listing };
}

// The runtime code. Memory: 0x00..0x64 the transferFrom call (selector at 0x00, then from, to,
// amount), 0x00..0x20 its return word; then 0x00..0x80 the event's data. Storage: slot 0 = nonce.
export const DEPOSIT_BOX_SOURCE = `
PUSH1 0x00                 ; [0]
CALLDATALOAD               ; [word0]
PUSH1 0xe0                 ; [224, word0]
SHR                        ; [selector]
PUSH4 ${DEPOSIT_SELECTOR}  ; deposit(address,uint256,address,uint256)
EQ                         ; [selector == deposit]
PUSH2 @deposit
JUMPI                      ; to deposit if it is
@revert:
JUMPDEST
PUSH1 0x00
DUP1
REVERT                     ; revert(0, 0)
@deposit:
JUMPDEST
CALLVALUE                  ; [msg.value]
PUSH2 @revert
JUMPI                      ; non-payable: revert if value > 0
PUSH1 0x84                 ; [132]
CALLDATASIZE               ; [size, 132]
LT                         ; [size < 132]
PUSH2 @revert
JUMPI                      ; 4 + 4 words of arguments, at least
PUSH1 0x04
CALLDATALOAD               ; [token]
PUSH1 0xa0
SHR                        ; [token >> 160]
PUSH2 @revert
JUMPI                      ; token is a clean address
PUSH1 0x44
CALLDATALOAD               ; [recipient]
PUSH1 0xa0
SHR                        ; [recipient >> 160]
PUSH2 @revert
JUMPI                      ; recipient is a clean address
PUSH1 0x04
CALLDATALOAD               ; [token]
EXTCODESIZE                ; [codesize(token)]
ISZERO
PUSH2 @revert
JUMPI                      ; token has code (a call to an EOA "succeeds")
PUSH4 ${TRANSFER_FROM_SELECTOR} ; transferFrom(address,address,uint256)
PUSH1 0xe0
SHL                        ; [selector << 224]
PUSH1 0x00
MSTORE                     ; mem[0x00..0x04] = selector
CALLER
PUSH1 0x04
MSTORE                     ; mem[0x04..0x24] = from: msg.sender
ADDRESS
PUSH1 0x24
MSTORE                     ; mem[0x24..0x44] = to: this contract
PUSH1 0x24
CALLDATALOAD               ; [amount]
PUSH1 0x44
MSTORE                     ; mem[0x44..0x64] = amount
PUSH1 0x20                 ; retSize 32
PUSH1 0x00                 ; retOffset 0
PUSH1 0x64                 ; argsSize 100
PUSH1 0x00                 ; argsOffset 0
PUSH1 0x00                 ; value 0
PUSH1 0x04
CALLDATALOAD               ; address: token
GAS                        ; gas: all
CALL                       ; [success]
ISZERO
PUSH2 @revert
JUMPI                      ; the call reverted: revert
RETURNDATASIZE             ; [rds]
ISZERO
PUSH2 @accepted
JUMPI                      ; returned nothing: accepted (USDT-style tokens)
PUSH1 0x20
RETURNDATASIZE             ; [rds, 32]
LT                         ; [rds < 32]
PUSH2 @revert
JUMPI                      ; returned less than a word: revert
PUSH1 0x00
MLOAD                      ; [returned word]
PUSH1 0x01
EQ                         ; [word == 1]
ISZERO
PUSH2 @revert
JUMPI                      ; anything but true: revert
@accepted:
JUMPDEST
PUSH1 0x00
SLOAD                      ; [nonce]
PUSH1 0x01
ADD                        ; [nonce + 1]
DUP1                       ; [n, n]
PUSH1 0x00
SSTORE                     ; slot 0 = n; [n]
PUSH1 0x44
CALLDATALOAD               ; [recipient, n]
PUSH1 0x00
MSTORE                     ; data word 0: recipient; [n]
PUSH1 0x24
CALLDATALOAD               ; [amount, n]
PUSH1 0x20
MSTORE                     ; data word 1: amount; [n]
PUSH1 0x64
CALLDATALOAD               ; [destChainId, n]
PUSH1 0x40
MSTORE                     ; data word 2: destChainId; [n]
PUSH1 0x60
MSTORE                     ; data word 3: nonce; []
CALLER                     ; topic 2: sender
PUSH1 0x04
CALLDATALOAD               ; topic 1: token
PUSH32 ${DEPOSIT_TOPIC}    ; topic 0: Deposit(address,address,address,uint256,uint256,uint256)
PUSH1 0x80                 ; size: 4 words
PUSH1 0x00                 ; offset 0
LOG3                       ; emit Deposit
STOP
`;

/** Runtime code, creation code and listing of the deposit contract. */
export function depositBoxCode() {
  const runtime = assemble(DEPOSIT_BOX_SOURCE);
  const length = (runtime.code.length - 2) / 2;
  const prefix = assemble(`PUSH2 ${length}\nDUP1\nPUSH2 0x000d\nPUSH1 0x00\nCODECOPY\nPUSH1 0x00\nRETURN`);
  if ((prefix.code.length - 2) / 2 !== 13) throw new Error('depositBoxCode: the creation prefix must be 13 bytes');
  return { runtime: runtime.code, creation: concatHex([prefix.code, runtime.code]), listing: runtime.listing };
}

/** The listing as it stands in this file's header comment (between LISTING-BEGIN and LISTING-END). */
export function listingInThisFile() {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  const begin = text.indexOf('// LISTING-BEGIN\n');
  const end = text.indexOf('// LISTING-END\n');
  if (begin < 0 || end < 0) return [];
  return text.slice(begin + '// LISTING-BEGIN\n'.length, end).split('\n').filter(Boolean).map((l) => l.replace(/^\/\/ ?/, ''));
}

// ---------------------------------------------------------------------------------------------
// The EIP-712 withdrawal attestation (txguard's own design, issue 6): domain bound to the destination
// chain and the route's destination contract.

export const ATTESTATION_TYPES = {
  WithdrawalAttestation: [
    { name: 'sourceChainId', type: 'uint256' },
    { name: 'sourceTxHash', type: 'bytes32' },
    { name: 'logIndex', type: 'uint256' },
    { name: 'token', type: 'address' },
    { name: 'amount', type: 'uint256' },
    { name: 'recipient', type: 'address' },
    { name: 'destinationChainId', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
  ],
};
export const ATTESTATION_PRIMARY_TYPE = 'WithdrawalAttestation';
const UINT_FIELDS = ['sourceChainId', 'logIndex', 'amount', 'destinationChainId', 'nonce'];

/** The attestation domain for a destination chain and the route's destination contract. */
export function attestationDomain(destinationChainId, verifyingContract) {
  return { name: 'txguard bridge', version: '1', chainId: Number(destinationChainId), verifyingContract: getAddress(verifyingContract) };
}

/** A message with its integers as BigInt (accepts numbers, decimal strings, BigInt). */
function typedMessage(message) {
  const out = { ...message };
  for (const f of UINT_FIELDS) out[f] = BigInt(message[f]);
  out.token = getAddress(message.token);
  out.recipient = getAddress(message.recipient);
  return out;
}

/** The same message as txguard's request carries it: integers as decimal strings. */
export function attestationMessageJson(message) {
  const m = typedMessage(message);
  const out = {};
  for (const { name } of ATTESTATION_TYPES.WithdrawalAttestation) out[name] = typeof m[name] === 'bigint' ? m[name].toString() : m[name];
  return out;
}

/** EIP-712 digest of an attestation (viem hashTypedData). */
export function attestationDigest(domain, message) {
  return hashTypedData({ domain, types: ATTESTATION_TYPES, primaryType: ATTESTATION_PRIMARY_TYPE, message: typedMessage(message) });
}

/** Signs an attestation: 0x + 65 bytes r || s || v, v 27/28 (viem signTypedData, RFC 6979). */
export async function signAttestation(privateKey, domain, message) {
  return privateKeyToAccount(privateKey).signTypedData({
    domain, types: ATTESTATION_TYPES, primaryType: ATTESTATION_PRIMARY_TYPE, message: typedMessage(message),
  });
}

// ---------------------------------------------------------------------------------------------
// Validators: nine deterministic keys, four of them (0-3) run by one operator, as at Ronin.

export const OPERATORS = ['sky-mavis', 'sky-mavis', 'sky-mavis', 'sky-mavis', 'axie-dao', 'operator-5', 'operator-6', 'operator-7', 'operator-8'];
export const VALIDATORS = OPERATORS.map((operator, i) => {
  const key = keccak256(stringToHex(`txguard-e2e-validator-${i}`));
  return { index: i, key, address: privateKeyToAccount(key).address, operator };
});

/** txguard's validator set history format: one set (index 0) of the nine validators. */
export function validatorSetDocument(validators = VALIDATORS) {
  return {
    txguard_validator_sets: 1,
    name: 'e2e-ronin',
    times: 'fixed by the e2e test (tests/js/e2e/bridge_chain.mjs): set 0 valid from 2020-01-01, never replaced',
    overlap: '24h',
    governance: { chain: 1, emitter: '0x0000000000000000000000000000000000000000000000000000000000000004' },
    sets: [{
      index: 0,
      valid_from: '2020-01-01T00:00:00Z',
      validators: validators.map((v) => ({ address: v.address, operator: v.operator })),
    }],
  };
}

// ---------------------------------------------------------------------------------------------
// The source chain.

/**
 * Starts the source chain: anvil with chain id 31338 (chain.mjs's startChain, so the same Safe
 * deployment as the destination), the source token sTKN (OpenZeppelin's ERC-20 again, at another
 * address than the destination's TKN) and the deposit contract.
 * Returns the chain handle extended with {depositBox, deposit(), transferToken(), mine(), depositCode}.
 */
export async function startSourceChain({ log = () => {} } = {}) {
  const chain = await startChain({ log: (line) => log(`source ${line}`), chainId: SOURCE_CHAIN_ID });
  const { publicClient, walletFor, deployer } = chain;
  const remoteId = await publicClient.getChainId();
  if (remoteId !== SOURCE_CHAIN_ID) throw new Error(`source anvil reports chain id ${remoteId}, expected ${SOURCE_CHAIN_ID}`);
  // The source token: another instance of the harness's ERC-20 (OpenZeppelin ERC20PresetFixedSupply),
  // deployed after startChain's so that its address differs from the destination token's (the same
  // deployer and nonce would otherwise give both chains' tokens one address, and a server mixing up
  // source and destination token would go unnoticed).
  const erc20 = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', ERC20_ARTIFACT), 'utf8'));
  const tokenHash = await walletFor(deployer).deployContract({
    abi: erc20.abi, bytecode: erc20.bytecode, args: ['txguard bridge source token', 'sTKN', 10n ** 9n * 10n ** 18n, deployer.address],
  });
  const tokenReceipt = await publicClient.waitForTransactionReceipt({ hash: tokenHash, pollingInterval: 20 });
  if (tokenReceipt.status !== 'success') throw new Error(`deploying the source token failed (${tokenHash})`);
  const token = { address: getAddress(tokenReceipt.contractAddress), symbol: 'sTKN', decimals: 18 };
  const tokenBalance = chain.tokenBalance;

  const code = depositBoxCode();
  const hash = await walletFor(deployer).sendTransaction({ data: code.creation });
  const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deploying the deposit contract failed (${hash})`);
  const depositBox = getAddress(receipt.contractAddress);
  const onChain = await publicClient.getCode({ address: depositBox });
  if (onChain !== code.runtime) throw new Error(`the deposit contract's runtime code on chain differs from the assembled code`);
  log(`source chain: deposit contract at ${depositBox} (${(code.runtime.length - 2) / 2} bytes of runtime code)`);

  async function send(account, request) {
    const txHash = await walletFor(account).sendTransaction(request);
    return publicClient.waitForTransactionReceipt({ hash: txHash, pollingInterval: 20 });
  }

  const funded = new Set([deployer.address]);
  return Object.assign(chain, {
    token,
    /** Balance of the source token (or of another token). */
    tokenBalance: (address, tokenAddress = token.address) => tokenBalance(address, tokenAddress),
    depositBox,
    depositCode: code,

    /** Mines `blocks` empty blocks (anvil_mine). */
    mine: (blocks = 1) => chain.testClient.mine({ blocks }),

    /** The current block number. */
    // cacheTime 0: viem otherwise answers a block number read within the last polling interval.
    blockNumber: () => publicClient.getBlockNumber({ cacheTime: 0 }),

    /** ERC-20 transfer of source TKN from an account (default the deployer): the receipt. */
    async transferToken(to, amount, from = deployer, tokenAddress = chain.token.address) {
      const receipt = await send(from, { to: tokenAddress, data: encodeFunctionData({ abi: ERC20_APPROVE_ABI, functionName: 'transfer', args: [getAddress(to), BigInt(amount)] }) });
      if (receipt.status !== 'success') throw new Error(`token transfer ${receipt.transactionHash} reverted`);
      return receipt;
    },

    /**
     * A real deposit by `from` (an anvil account, default #4; funded with source TKN from the deployer
     * on first use): approve, then deposit(token, amount, recipient, destChainId). Rejects if either
     * reverts. Resolves {receipt, log, event: {token, sender, recipient, amount, destChainId, nonce}}.
     */
    async deposit({ from = ANVIL_ACCOUNTS[4], amount, recipient, destChainId = DESTINATION_CHAIN_ID, token = chain.token.address }) {
      if (!funded.has(from.address)) {
        await chain.transferToken(from.address, 10n ** 8n * 10n ** 18n);
        funded.add(from.address);
      }
      const approved = await send(from, { to: token, data: encodeFunctionData({ abi: ERC20_APPROVE_ABI, functionName: 'approve', args: [depositBox, BigInt(amount)] }) });
      if (approved.status !== 'success') throw new Error(`approve ${approved.transactionHash} reverted`);
      const receipt = await send(from, {
        to: depositBox,
        data: encodeFunctionData({ abi: DEPOSIT_ABI, functionName: 'deposit', args: [getAddress(token), BigInt(amount), getAddress(recipient), BigInt(destChainId)] }),
        gas: 200000n,
      });
      if (receipt.status !== 'success') throw new Error(`deposit ${receipt.transactionHash} reverted`);
      const found = receipt.logs.filter((l) => getAddress(l.address) === depositBox);
      if (found.length !== 1) throw new Error(`deposit ${receipt.transactionHash}: ${found.length} logs from the deposit contract`);
      const decoded = decodeEventLog({ abi: DEPOSIT_ABI, data: found[0].data, topics: found[0].topics, strict: true });
      if (decoded.eventName !== 'Deposit') throw new Error(`deposit ${receipt.transactionHash}: event ${decoded.eventName}`);
      return { receipt, log: found[0], event: decoded.args };
    },

    /** The raw deposit call, for negative tests: resolves the receipt (status may be "reverted"). */
    async rawDeposit({ from = ANVIL_ACCOUNTS[4], data, value = 0n }) {
      return send(from, { to: depositBox, data, value, gas: 200000n });
    },
  });
}

// `node e2e/bridge_chain.mjs --listing` prints the runtime listing for the header comment.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2] === '--listing') {
  const { runtime, creation, listing } = depositBoxCode();
  process.stdout.write(`${listing.map((l) => `// ${l}`).join('\n')}\n`);
  process.stdout.write(`// runtime ${runtime}\n// creation ${creation}\n`);
}

// ---------------------------------------------------------------------------------------------
// Self-check (scenario "bridge-chain" of run.mjs, no txguard): the assembled code is the listing, the
// contract behaves as specified on a real anvil, the attestation signatures recover, the validator
// set is the one the issue describes. If this fails, the bridge scenario's results mean nothing.

export const name = 'bridge-chain';
export const needsGuard = false;

export async function run(ctx, checks) {
  checks.prefix = 'bridge chain';

  await checks.check('the listing in bridge_chain.mjs is the code the assembler emits', async () => {
    const { listing, runtime, creation } = depositBoxCode();
    expectEqual(listingInThisFile(), listing, 'header listing vs assembled listing (regenerate with --listing)');
    const text = readFileSync(fileURLToPath(import.meta.url), 'utf8');
    expect(text.includes(`// runtime ${runtime}\n`) && text.includes(`// creation ${creation}\n`), 'the header has the assembled runtime and creation code');
  });

  const source = await checks.check('a second anvil with chain id 31338 runs beside the destination (31337), with the deposit contract', async () => {
    const s = await startSourceChain({ log: ctx.log });
    expectEqual(await s.publicClient.getChainId(), SOURCE_CHAIN_ID, 'source eth_chainId');
    expectEqual(await ctx.chain.publicClient.getChainId(), DESTINATION_CHAIN_ID, 'destination eth_chainId');
    expect(s.url !== ctx.chain.url, 'two different nodes', [s.url, ctx.chain.url]);
    expect(s.token.address !== ctx.chain.token.address, 'the source token\'s address differs from the destination token\'s', s.token.address);
    return s;
  });
  if (!source) { checks.prefix = ''; return; }
  const recipient = getAddress(`0x${keccak256(stringToHex('bridge self-check recipient')).slice(-40)}`);
  const depositor = ANVIL_ACCOUNTS[4];
  const nonceSlot = async () => BigInt(await source.publicClient.getStorageAt({ address: source.depositBox, slot: '0x0' }) ?? '0x0');
  const balance = (who) => source.tokenBalance(who);

  try {
    await checks.check('a deposit moves the tokens and emits Deposit (decoded with the exact ABI), nonce 1 then 2', async () => {
      const boxBefore = await balance(source.depositBox);
      const first = await source.deposit({ from: depositor, amount: parseEther('1000'), recipient });
      expectEqual(first.event, {
        token: source.token.address, sender: depositor.address, recipient, amount: parseEther('1000'), destChainId: BigInt(DESTINATION_CHAIN_ID), nonce: 1n,
      }, 'first Deposit event');
      expectEqual(first.log.topics[0], DEPOSIT_TOPIC, 'topic0');
      expectEqual(first.receipt.logs.map((l) => l.topics[0]), [
        toEventSelector('Approval(address,address,uint256)'), toEventSelector('Transfer(address,address,uint256)'), DEPOSIT_TOPIC,
      ], 'three logs: the token\'s Approval (allowance spent) and Transfer, then Deposit');
      expectEqual(first.log.logIndex, 2, 'Deposit is log 2 of its block (the deposit is the block\'s only transaction)');
      expectEqual(await balance(source.depositBox) - boxBefore, parseEther('1000'), 'the contract holds the deposit');
      const second = await source.deposit({ from: depositor, amount: 5n, recipient });
      expectEqual(second.event.nonce, 2n, 'second nonce');
      expectEqual(await nonceSlot(), 2n, 'storage slot 0');
    });

    const reverts = async (what, request) => {
      const before = await nonceSlot();
      const receipt = await source.rawDeposit(request);
      expectEqual(receipt.status, 'reverted', `${what}: receipt status`);
      expectEqual(receipt.logs.length, 0, `${what}: no logs`);
      expectEqual(await nonceSlot(), before, `${what}: nonce unchanged`);
    };
    const depositData = (token, amount, to, dest = DESTINATION_CHAIN_ID) =>
      encodeFunctionData({ abi: DEPOSIT_ABI, functionName: 'deposit', args: [token, BigInt(amount), to, BigInt(dest)] });

    await checks.check('refused: no allowance, ETH sent, an unknown selector, short calldata, dirty address words, a token without code', async () => {
      const poor = ANVIL_ACCOUNTS[5];
      await reverts('deposit without allowance', { from: poor, data: depositData(source.token.address, 1n, recipient) });
      await reverts('deposit with ETH', { from: depositor, data: depositData(source.token.address, 0n, recipient), value: 1n });
      await reverts('unknown selector', { from: depositor, data: '0x12345678' });
      await reverts('empty calldata', { from: depositor, data: '0x' });
      await reverts('calldata one byte short', { from: depositor, data: depositData(source.token.address, 0n, recipient).slice(0, -2) });
      const full = depositData(source.token.address, 0n, recipient);
      await reverts('token word with upper bits set', { from: depositor, data: `${full.slice(0, 10)}01${full.slice(12)}` });
      await reverts('recipient word with upper bits set', { from: depositor, data: `${full.slice(0, 138)}01${full.slice(140)}` });
      await reverts('token without code', { from: depositor, data: depositData(recipient, 0n, recipient) });
    });

    await checks.check('transferFrom results: false and 2 revert, nothing returned is accepted', async () => {
      const returnsWord = (w) => `0x60${w}60005260206000f3`; // PUSH1 w PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN
      const falseToken = getAddress(`0x${keccak256(stringToHex('returns false')).slice(-40)}`);
      const twoToken = getAddress(`0x${keccak256(stringToHex('returns 2')).slice(-40)}`);
      const silentToken = getAddress(`0x${keccak256(stringToHex('returns nothing')).slice(-40)}`);
      await source.setCode(falseToken, returnsWord('00'));
      await source.setCode(twoToken, returnsWord('02'));
      await source.setCode(silentToken, '0x00');
      await reverts('transferFrom returned false', { from: depositor, data: depositData(falseToken, 1n, recipient) });
      await reverts('transferFrom returned 2', { from: depositor, data: depositData(twoToken, 1n, recipient) });
      const before = await nonceSlot();
      const ok = await source.rawDeposit({ from: depositor, data: depositData(silentToken, 7n, recipient, 99n) });
      expectEqual(ok.status, 'success', 'a token that returns nothing is accepted');
      const event = decodeEventLog({ abi: DEPOSIT_ABI, data: ok.logs[0].data, topics: ok.logs[0].topics, strict: true });
      expectEqual(event.args, { token: silentToken, sender: depositor.address, recipient, amount: 7n, destChainId: 99n, nonce: before + 1n }, 'its Deposit event');
    });

    await checks.check('validators: nine keys, four run by sky-mavis; attestation signatures recover to them (v 27/28)', async () => {
      expectEqual(new Set(VALIDATORS.map((v) => v.address)).size, 9, 'nine distinct addresses');
      expectEqual(VALIDATORS.filter((v) => v.operator === 'sky-mavis').map((v) => v.index), [0, 1, 2, 3], 'sky-mavis runs 0-3');
      expectEqual(new Set(OPERATORS).size, 6, 'six operators');
      const domain = attestationDomain(DESTINATION_CHAIN_ID, recipient);
      const message = {
        sourceChainId: SOURCE_CHAIN_ID, sourceTxHash: keccak256('0x01'), logIndex: 1, token: source.token.address,
        amount: parseEther('1000'), recipient, destinationChainId: DESTINATION_CHAIN_ID, nonce: 1,
      };
      for (const v of VALIDATORS) {
        const signature = await signAttestation(v.key, domain, message);
        expect(/^0x[0-9a-f]{130}$/.test(signature), 'a 65-byte signature', signature);
        expect(['1b', '1c'].includes(signature.slice(130)), 'v is 27 or 28', signature.slice(130));
        const signer = await recoverTypedDataAddress({ domain, types: ATTESTATION_TYPES, primaryType: ATTESTATION_PRIMARY_TYPE, message: typedMessage(message), signature });
        expectEqual(signer, v.address, `validator ${v.index} recovers`);
      }
      expectEqual(attestationMessageJson(message).amount, '1000000000000000000000', 'message JSON has decimal strings');
      expectEqual(validatorSetDocument().sets[0].validators.length, 9, 'validator set file lists nine validators');
    });
  } finally {
    await source.stop();
  }
  checks.prefix = '';
}
