// POST /v1/safe/cosign against real 2-of-3 Safes (1.4.1 and 1.3.0) in which txguard holds one key:
// what the policy allows executes on chain with owner A's signature plus txguard's; what it refuses
// (the Bybit DELEGATECALL, a sanctioned recipient, even inside a batch, an owner change) gets no
// signature, with the reason; a client-supplied safeTxHash that is not txguard's is refused.

import { encodeFunctionData, parseEther } from 'viem';
import { SAFE_VERSIONS, erc20TransferData, multiSendData, signHash } from './chain.mjs';
import { OWNER_A, OWNER_B, SANCTIONED, cosignBody, customer, expectCosigned, expectDenied } from './guard.mjs';
import { describeResponse, expect, expectEqual } from './util.mjs';

export const name = 'safe';
export const needsGuard = true;

const TKN = 10n ** 18n;
const safes = {};
const unnamed = {};

// The Bybit attacker contract's essence: whatever is called, write slot 0 (a Safe's singleton /
// master copy pointer) with the attacker's address. Runtime code: PUSH20 attacker PUSH1 0 SSTORE STOP.
const ATTACKER = customer('attacker EOA');
const ATTACKER_CONTRACT = customer('attacker contract');
const ATTACKER_CODE = `0x73${ATTACKER.slice(2).toLowerCase()}60005500`;

export async function prepare({ chain, env }) {
  for (const version of SAFE_VERSIONS) {
    const safe = await chain.createSafe({
      version, owners: [OWNER_A.address, OWNER_B.address, env.guardAddress], threshold: 2,
      fundEth: parseEther('20'), fundToken: 100000n * TKN,
    });
    env.addSafe(`cosign-${version}`, safe);
    safes[version] = safe;
    // The same owners, but a Safe the policy does not name.
    unnamed[version] = await chain.createSafe({
      version, owners: [OWNER_A.address, OWNER_B.address, env.guardAddress], threshold: 2, fundEth: parseEther('1'),
    });
  }
  await chain.setCode(ATTACKER_CONTRACT, ATTACKER_CODE);
}

export async function run({ chain, env, server }, checks) {
  const guardAddress = env.guardAddress;

  // Asks txguard to co-sign (with the contract's hash in the body, which txguard must agree with),
  // adds owner A's signature and executes. Returns the receipt.
  async function cosignAndExecute(safe, tx, what) {
    const hash = await chain.safeTxHash(safe, tx);
    const res = await server.cosign(cosignBody(safe, tx, { safeTxHash: hash, safeVersion: safe.version }));
    const guardSig = await expectCosigned(res, { hash, guardAddress, what });
    return chain.execSafeTx(safe, tx, [await signHash(OWNER_A.key, hash), guardSig]);
  }

  for (const version of SAFE_VERSIONS) {
    const safe = safes[version];
    checks.prefix = `safe ${version}`;
    const [c1, c2, c3] = [customer(`${version} 1`), customer(`${version} 2`), customer(`${version} 3`)];

    await checks.check('an allowed ETH transfer executes with owner A + txguard', async () => {
      const tx = await chain.buildSafeTx(safe, { to: c1, value: parseEther('0.5') });
      const before = await chain.ethBalance(c1);
      await cosignAndExecute(safe, tx, 'ETH transfer');
      expectEqual(await chain.ethBalance(c1) - before, parseEther('0.5'), 'recipient received 0.5 ETH');
    });

    await checks.check('an allowed ERC-20 transfer executes with owner A + txguard', async () => {
      const tx = await chain.buildSafeTx(safe, { to: chain.token.address, data: erc20TransferData(c2, 250n * TKN) });
      const before = await chain.tokenBalance(c2);
      await cosignAndExecute(safe, tx, 'ERC-20 transfer');
      expectEqual(await chain.tokenBalance(c2) - before, 250n * TKN, 'recipient received 250 TKN');
    });

    await checks.check('a MultiSendCallOnly batch (DELEGATECALL to the canonical library) of allowed transfers executes', async () => {
      const tx = await chain.buildSafeTx(safe, {
        to: chain.deployments[version].multiSendCallOnly,
        operation: 1,
        data: multiSendData([
          { to: c1, value: parseEther('0.25') },
          { to: chain.token.address, data: erc20TransferData(c3, 100n * TKN) },
          { to: c3, value: parseEther('0.1') },
        ]),
      });
      const before = [await chain.ethBalance(c1), await chain.tokenBalance(c3), await chain.ethBalance(c3)];
      await cosignAndExecute(safe, tx, 'MultiSendCallOnly batch');
      expectEqual(await chain.ethBalance(c1) - before[0], parseEther('0.25'), 'batch item 1: 0.25 ETH arrived');
      expectEqual(await chain.tokenBalance(c3) - before[1], 100n * TKN, 'batch item 2: 100 TKN arrived');
      expectEqual(await chain.ethBalance(c3) - before[2], parseEther('0.1'), 'batch item 3: 0.1 ETH arrived');
    });

    const nonceBeforeDenials = await chain.safeNonce(safe);

    await checks.check('a Bybit-style DELEGATECALL to an attacker contract gets no signature (unsafe-delegatecall)', async () => {
      const tx = await chain.buildSafeTx(safe, { to: ATTACKER_CONTRACT, operation: 1, data: erc20TransferData(ATTACKER, 0n) });
      expectDenied(await server.cosign(cosignBody(safe, tx)), 'unsafe-delegatecall', 'Bybit DELEGATECALL');
      // Without txguard's signature the Safe cannot reach its threshold with one human owner.
      const hash = await chain.safeTxHash(safe, tx);
      let reason = 'executed';
      try { await chain.execSafeTx(safe, tx, [await signHash(OWNER_A.key, hash)]); } catch (e) { reason = e.reason ?? e.message; }
      expectEqual(reason, 'GS020', 'owner A alone cannot execute it');
    });

    await checks.check('a transfer to a sanctioned address gets no signature (sanctioned-address)', async () => {
      const tx = await chain.buildSafeTx(safe, { to: SANCTIONED, value: parseEther('1') });
      expectDenied(await server.cosign(cosignBody(safe, tx)), 'sanctioned-address', 'ETH to a sanctioned address');
    });

    await checks.check('a sanctioned recipient inside a MultiSendCallOnly batch gets no signature (sanctioned-address)', async () => {
      const tx = await chain.buildSafeTx(safe, {
        to: chain.deployments[version].multiSendCallOnly,
        operation: 1,
        data: multiSendData([
          { to: c1, value: parseEther('0.01') },
          { to: chain.token.address, data: erc20TransferData(SANCTIONED, 5n * TKN) },
        ]),
      });
      expectDenied(await server.cosign(cosignBody(safe, tx)), 'sanctioned-address', 'batch with a sanctioned ERC-20 recipient');
    });

    await checks.check('addOwnerWithThreshold gets no signature (safe-configuration-change)', async () => {
      const data = encodeFunctionData({ abi: chain.abis[version].safe, functionName: 'addOwnerWithThreshold', args: [ATTACKER, 2n] });
      const tx = await chain.buildSafeTx(safe, { to: safe.address, data });
      expectDenied(await server.cosign(cosignBody(safe, tx)), 'safe-configuration-change', 'addOwnerWithThreshold');
    });

    await checks.check('a SafeTx that pays a gas refund (gasPrice > 0) gets no signature (gas-refund)', async () => {
      const tx = await chain.buildSafeTx(safe, { to: c1, value: parseEther('0.01'), baseGas: 100000n, gasPrice: 10n ** 9n, refundReceiver: ATTACKER });
      expectDenied(await server.cosign(cosignBody(safe, tx)), 'gas-refund', 'transfer with a refund to a relayer');
    });

    await checks.check('a Safe the policy does not name gets no signature (unknown-wallet)', async () => {
      const other = unnamed[version];
      const tx = await chain.buildSafeTx(other, { to: c1, value: parseEther('0.01') });
      // Without a pinned version txguard cannot hash it: the body must name the version.
      const bare = await server.cosign(cosignBody(other, tx));
      expectEqual(bare.status, 400, `no safeVersion for an undeclared Safe is a bad request (${describeResponse(bare)})`);
      expectDenied(await server.cosign(cosignBody(other, tx, { safeVersion: version })), 'unknown-wallet', 'transfer from an unnamed Safe');
    });

    await checks.check('a safeVersion other than the pinned one gets no signature (safe-version-mismatch)', async () => {
      const tx = await chain.buildSafeTx(safe, { to: c1, value: parseEther('0.01') });
      const wrong = version === '1.4.1' ? '1.3.0' : '1.4.1';
      const res = await server.cosign(cosignBody(safe, tx, { safeVersion: wrong }));
      expectDenied(res, 'safe-version-mismatch', `safeVersion ${wrong} for a ${version} Safe`);
    });

    await checks.check('a tampered safeTxHash in the body is refused (400 hash-mismatch), nothing signed', async () => {
      const tx = await chain.buildSafeTx(safe, { to: c1, value: parseEther('0.01') });
      const hash = await chain.safeTxHash(safe, tx);
      const tampered = `${hash.slice(0, 65)}${hash[65] === '0' ? '1' : '0'}`;
      const res = await server.cosign(cosignBody(safe, tx, { safeTxHash: tampered }));
      expectEqual(res.status, 400, `status for a wrong safeTxHash (${describeResponse(res)})`);
      expectEqual(res.json?.error?.code, 'hash-mismatch', 'error.code');
      expect(res.json?.signature === undefined, 'no signature', res.json);
    });

    await checks.check('POST /v1/evaluate judges without signing: deny for the Bybit DELEGATECALL, allow for a transfer', async () => {
      const bybit = await chain.buildSafeTx(safe, { to: ATTACKER_CONTRACT, operation: 1, data: erc20TransferData(ATTACKER, 0n) });
      const denied = await server.evaluate(cosignBody(safe, bybit));
      expectEqual(denied.status, 200, `evaluate answers 200 for any verdict (${describeResponse(denied)})`);
      expectEqual(denied.json?.decision?.verdict, 'deny', 'evaluate: Bybit DELEGATECALL verdict');
      expect(denied.json.decision.reasons.some((r) => r.code === 'unsafe-delegatecall'), 'evaluate: reason unsafe-delegatecall', denied.json.decision.reasons);
      const transfer = await chain.buildSafeTx(safe, { to: c2, value: parseEther('0.02') });
      const allowed = await server.evaluate(cosignBody(safe, transfer));
      expectEqual(allowed.status, 200, `evaluate of an allowed transfer (${describeResponse(allowed)})`);
      expectEqual(allowed.json?.decision?.verdict, 'allow', 'evaluate: transfer verdict');
      expect(allowed.json.signature === undefined, 'evaluate never returns a signature', allowed.json);
    });

    await checks.check('denied and evaluated requests did not take the nonce: an allowed transfer at it executes', async () => {
      const tx = await chain.buildSafeTx(safe, { to: c2, value: parseEther('0.03') });
      expectEqual(tx.nonce, nonceBeforeDenials, 'the Safe nonce is still the one the refused requests used');
      const before = await chain.ethBalance(c2);
      await cosignAndExecute(safe, tx, 'transfer after denials');
      expectEqual(await chain.ethBalance(c2) - before, parseEther('0.03'), 'recipient received 0.03 ETH');
    });
  }
  checks.prefix = '';
}
