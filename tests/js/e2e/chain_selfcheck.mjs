// Self-check of the chain harness, without txguard: a 2-of-3 Safe of each version executes an ETH
// transfer and an ERC-20 transfer signed by two local owner keys, and refuses too few, unsorted and
// foreign signatures. If this fails, the scenarios' results mean nothing.

import { concatHex, parseEther, recoverAddress } from 'viem';
import { ANVIL_ACCOUNTS, ANVIL_KEYS, SAFE_VERSIONS, erc20TransferData, signHash } from './chain.mjs';
import { expect, expectEqual } from './util.mjs';

export const name = 'chain';
export const needsGuard = false;

// Owners: anvil #7, #8, #9 (test keys).
const OWNER_KEYS = [ANVIL_KEYS[7], ANVIL_KEYS[8], ANVIL_KEYS[9]];
const OWNERS = OWNER_KEYS.map((_, i) => ANVIL_ACCOUNTS[7 + i].address);
const RECIPIENT = '0x000000000000000000000000000000000000dEaD';

export async function run(ctx, checks) {
  const { chain } = ctx;
  for (const version of SAFE_VERSIONS) {
    checks.prefix = `chain Safe ${version}`;
    const safe = await checks.check('a 2-of-3 Safe is created by the canonical proxy factory and funded', async () => {
      const s = await chain.createSafe({ version, owners: OWNERS, threshold: 2, fundEth: parseEther('5'), fundToken: 1000n * 10n ** 18n });
      for (const owner of OWNERS) expect(await chain.isOwner(s, owner), `${owner} is an owner of ${s.address}`);
      expectEqual(await chain.ethBalance(s.address), parseEther('5'), 'Safe ETH balance after funding');
      return s;
    });
    if (!safe) continue;

    await checks.check('an ETH transfer with two owner signatures executes', async () => {
      const tx = await chain.buildSafeTx(safe, { to: RECIPIENT, value: parseEther('1') });
      const hash = await chain.safeTxHash(safe, tx);
      const sigs = [await signHash(OWNER_KEYS[0], hash), await signHash(OWNER_KEYS[1], hash)];
      for (const s of sigs) expectEqual(await recoverAddress({ hash, signature: s.signature }), s.signer, 'owner signature recovers to its signer');
      const before = await chain.ethBalance(RECIPIENT);
      await chain.execSafeTx(safe, tx, sigs);
      expectEqual(await chain.ethBalance(RECIPIENT) - before, parseEther('1'), 'recipient received 1 ETH');
      expectEqual(await chain.safeNonce(safe), tx.nonce + 1n, 'Safe nonce advanced');
    });

    await checks.check('an ERC-20 transfer with two owner signatures executes', async () => {
      const tx = await chain.buildSafeTx(safe, { to: chain.token.address, data: erc20TransferData(RECIPIENT, 7n * 10n ** 18n) });
      const hash = await chain.safeTxHash(safe, tx);
      const before = await chain.tokenBalance(RECIPIENT);
      await chain.execSafeTx(safe, tx, [await signHash(OWNER_KEYS[2], hash), await signHash(OWNER_KEYS[0], hash)]);
      expectEqual(await chain.tokenBalance(RECIPIENT) - before, 7n * 10n ** 18n, 'recipient received 7 TKN');
    });

    await checks.check('one signature is refused (GS020), unsorted ones (GS026), a non-owner\'s (GS026)', async () => {
      const tx = await chain.buildSafeTx(safe, { to: RECIPIENT, value: 1n });
      const hash = await chain.safeTxHash(safe, tx);
      const a = await signHash(OWNER_KEYS[0], hash);
      const b = await signHash(OWNER_KEYS[1], hash);
      const stranger = await signHash(ANVIL_KEYS[6], hash);
      const reasonOf = async (sigs) => {
        try {
          await chain.execSafeTx(safe, tx, sigs);
          return 'executed';
        } catch (e) { return e.reason ?? e.message; }
      };
      expectEqual(await reasonOf([a]), 'GS020', 'one of two signatures');
      const [low, high] = BigInt(a.signer) < BigInt(b.signer) ? [a, b] : [b, a];
      expectEqual(await reasonOf(concatHex([high.signature, low.signature])), 'GS026', 'signatures in descending owner order');
      expectEqual(await reasonOf([a, stranger]), 'GS026', 'a signature by a non-owner');
      expectEqual(await chain.safeNonce(safe), tx.nonce, 'nothing executed');
    });
  }
  checks.prefix = '';
}
