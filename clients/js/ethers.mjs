// ethers v6 against an Atoll EVM ParaTime, with no Atoll-specific code: deploy the test
// ERC-20, transfer with EIP-1559 and legacy transactions and wait(), queryFilter,
// contract.on (filter polling), a custom-error revert decoded, 100 calls in one batch,
// fee data, and a block over the WebSocket provider.
//
// Environment: RPC_URL, WS_URL, PRIVATE_KEY (a funded account), TOKEN_BIN (creation code).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ethers } from "ethers";
import { TOKEN_ABI, within } from "./common.mjs";


const provider = new ethers.JsonRpcProvider(process.env.RPC_URL, undefined, {
  pollingInterval: 250,
});
const wallet = new ethers.Wallet(process.env.PRIVATE_KEY, provider);
const bob = ethers.Wallet.createRandom().address;

const network = await provider.getNetwork();
assert.equal(network.chainId, 2672n, "chain id");
const fees = await provider.getFeeData();
assert.ok(fees.maxFeePerGas > 0n && fees.gasPrice > 0n, "fee data");

const bytecode = "0x" + readFileSync(process.env.TOKEN_BIN, "utf8").trim();
const factory = new ethers.ContractFactory(TOKEN_ABI, bytecode, wallet);
const token = await factory.deploy("Ethers", "ETH6", 1_000_000n);
await within(60_000, "deployment", token.waitForDeployment());
assert.equal(await token.name(), "Ethers");

// contract.on: ethers installs a log filter and polls eth_getFilterChanges.
const heard = new Promise((resolve) => {
  token.on("Transfer", (from, to, value) => {
    if (to === bob) resolve(value);
  });
});

const eip1559 = await token.transfer(bob, 100n);
assert.equal(eip1559.type, 2);
const first = await within(60_000, "EIP-1559 receipt", eip1559.wait());
assert.equal(first.status, 1);
const legacy = await token.transfer(bob, 50n, { type: 0 });
assert.equal(legacy.type, 0);
const second = await within(60_000, "legacy receipt", legacy.wait());
assert.equal(second.status, 1);
assert.equal(await token.balanceOf(bob), 150n);
assert.equal(await within(60_000, "contract.on", heard), 100n);
await token.removeAllListeners();

const transfers = await token.queryFilter(token.filters.Transfer(null, bob), 0, "latest");
assert.equal(transfers.length, 2, "queryFilter");
assert.equal(transfers[1].args.value, 50n);

// A custom error, decoded from the revert data.
await assert.rejects(token.transfer.staticCall(bob, 10n ** 30n), (error) => {
  assert.equal(error.code, "CALL_EXCEPTION");
  assert.equal(error.revert?.name, "InsufficientBalance");
  return true;
});

// 100 calls in one JSON-RPC batch.
const balances = await Promise.all(Array.from({ length: 100 }, () => token.balanceOf(bob)));
assert.ok(balances.every((b) => b === 150n));

// The block of the transfer, and a new block over the WebSocket provider.
const block = await provider.getBlock(second.blockNumber, true);
assert.equal(block.hash, second.blockHash);
assert.ok(block.prefetchedTransactions.some((tx) => tx.hash === legacy.hash));
const ws = new ethers.WebSocketProvider(process.env.WS_URL);
const next = new Promise((resolve) => ws.once("block", resolve));
await (await token.transfer(bob, 1n)).wait();
const announced = await within(60_000, "a block over WebSocket", next);
assert.ok(announced >= second.blockNumber);
await ws.destroy();
provider.destroy();
console.log("ethers: ok");
