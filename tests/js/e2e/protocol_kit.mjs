// The Safe{Core} SDK path a treasury team uses: @safe-global/protocol-kit (contractNetworks for
// chain 31337 pointing at the locally deployed canonical contracts) creates the transaction,
// txguard's signature is obtained over REST and added as an EthSafeSignature, owner A signs with the
// SDK, and the SDK executes it.

import Safe, { EthSafeSignature } from '@safe-global/protocol-kit';
import { getAddress, parseEther } from 'viem';
import { SAFE_VERSIONS, erc20TransferData } from './chain.mjs';
import { OWNER_A, OWNER_B, customer, expectCosigned } from './guard.mjs';
import { expectEqual } from './util.mjs';

export const name = 'protocol-kit';
export const needsGuard = true;

const TKN = 10n ** 18n;
const safes = {};

export async function prepare({ chain, env }) {
  for (const version of SAFE_VERSIONS) {
    const safe = await chain.createSafe({
      version, owners: [OWNER_A.address, OWNER_B.address, env.guardAddress], threshold: 2,
      fundEth: parseEther('10'), fundToken: 10000n * TKN,
    });
    env.addSafe(`protocol-kit-${version}`, safe);
    safes[version] = safe;
  }
}

function contractNetworks(chain, version) {
  const d = chain.deployments[version];
  return {
    [String(chain.chainId)]: {
      safeSingletonAddress: d.safe,
      safeProxyFactoryAddress: d.proxyFactory,
      multiSendAddress: d.multiSend,
      multiSendCallOnlyAddress: d.multiSendCallOnly,
      fallbackHandlerAddress: d.fallbackHandler,
      signMessageLibAddress: d.signMessageLib,
      createCallAddress: d.createCall,
      simulateTxAccessorAddress: d.simulateTxAccessor,
    },
  };
}

export async function run({ chain, env, server }, checks) {
  for (const version of SAFE_VERSIONS) {
    const safe = safes[version];
    checks.prefix = `protocol-kit ${version}`;
    const kit = await checks.check('Safe.init with contractNetworks for 31337 reads the Safe', async () => {
      const k = await Safe.init({ provider: chain.url, signer: OWNER_A.key, safeAddress: safe.address, contractNetworks: contractNetworks(chain, version) });
      expectEqual(await k.getContractVersion(), version, 'protocol-kit sees the Safe version');
      expectEqual(await k.getThreshold(), 2, 'threshold');
      return k;
    });
    if (!kit) continue;

    // The SDK's own transaction, co-signed by txguard, signed by owner A through the SDK, executed by
    // the SDK. Returns the receipt.
    async function viaSdk(transactions, options, what) {
      const safeTransaction = await kit.createTransaction({ transactions, ...options });
      const sdkHash = await kit.getTransactionHash(safeTransaction);
      const d = safeTransaction.data;
      const contractHash = await chain.safeTxHash(safe, {
        to: getAddress(d.to), value: BigInt(d.value), data: d.data, operation: Number(d.operation),
        safeTxGas: BigInt(d.safeTxGas), baseGas: BigInt(d.baseGas), gasPrice: BigInt(d.gasPrice),
        gasToken: getAddress(d.gasToken), refundReceiver: getAddress(d.refundReceiver), nonce: BigInt(d.nonce),
      });
      expectEqual(sdkHash, contractHash, `${what}: protocol-kit's hash equals the contract's`);
      // The SDK's field names are the Safe Transaction Service's: send them as they are.
      const res = await server.cosign({ chainId: chain.chainId, safe: safe.address, ...d, safeTxHash: sdkHash });
      const guard = await expectCosigned(res, { hash: sdkHash, guardAddress: env.guardAddress, what });
      safeTransaction.addSignature(new EthSafeSignature(guard.signer, guard.signature));
      const signed = await kit.signTransaction(safeTransaction);
      expectEqual(signed.signatures.size, 2, `${what}: two signatures on the SDK transaction`);
      const result = await kit.executeTransaction(signed);
      const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: result.hash, pollingInterval: 20 });
      expectEqual(receipt.status, 'success', `${what}: execution receipt status`);
      return receipt;
    }

    await checks.check('an SDK-built ETH transfer with txguard\'s REST signature and owner A\'s executes', async () => {
      const to = customer(`pk ${version} eth`);
      const before = await chain.ethBalance(to);
      await viaSdk([{ to, value: parseEther('0.4').toString(), data: '0x' }], {}, 'SDK ETH transfer');
      expectEqual(await chain.ethBalance(to) - before, parseEther('0.4'), 'recipient received 0.4 ETH');
    });

    await checks.check('an SDK-built batch (onlyCalls: MultiSendCallOnly) of an ETH and an ERC-20 transfer executes', async () => {
      const to = customer(`pk ${version} batch`);
      const before = [await chain.ethBalance(to), await chain.tokenBalance(to)];
      await viaSdk([
        { to, value: parseEther('0.1').toString(), data: '0x' },
        { to: chain.token.address, value: '0', data: erc20TransferData(to, 42n * TKN) },
      ], { onlyCalls: true }, 'SDK MultiSendCallOnly batch');
      expectEqual(await chain.ethBalance(to) - before[0], parseEther('0.1'), 'batch: 0.1 ETH arrived');
      expectEqual(await chain.tokenBalance(to) - before[1], 42n * TKN, 'batch: 42 TKN arrived');
    });
  }
  checks.prefix = '';
}
