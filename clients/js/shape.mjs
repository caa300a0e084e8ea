// The shape check: the same scripted requests against an Atoll EVM ParaTime and against
// foundry's anvil (the binary npm's @foundry-rs/anvil ships, started here on 127.0.0.1),
// comparing the field names and value kinds of blocks, transactions, receipts, logs, fee
// history and errors. Values differ between the two chains; shapes must not.
//
// Environment: RPC_URL, PRIVATE_KEY (a funded account on it), TOKEN_BIN (creation code).

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ethers } from "ethers";
import { TOKEN_ABI, within } from "./common.mjs";

// anvil's first development account (mnemonic "test … junk"), funded at its genesis.
const ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const LIMIT = 60_000;

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function startAnvil() {
  const port = await freePort();
  const binary = join(dirname(fileURLToPath(import.meta.url)), "node_modules/.bin/anvil");
  const child = spawn(binary, ["--host", "127.0.0.1", "--port", `${port}`, "--hardfork", "prague", "--silent"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + LIMIT;
  for (;;) {
    try {
      await rpc(url, "eth_chainId", []);
      return { url, child };
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`anvil did not start: ${error}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// One JSON-RPC request; answers the whole response object (result or error).
async function request(url, method, params) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return response.json();
}

async function rpc(url, method, params) {
  const answer = await request(url, method, params);
  if (answer.error) throw new Error(`${method}: ${JSON.stringify(answer.error)}`);
  return answer.result;
}

async function receipt(url, hash) {
  const deadline = Date.now() + LIMIT;
  for (;;) {
    const found = await rpc(url, "eth_getTransactionReceipt", [hash]);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no receipt for ${hash}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Deploys the token and sends one transfer of each transaction type, then makes the same
// requests every client makes. Answers {name: response} for the comparison.
async function script(url, key) {
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, batchMaxCount: 1 });
  const wallet = new ethers.Wallet(key, provider);
  const { chainId } = await provider.getNetwork();
  const me = wallet.address;
  const bob = "0x00000000000000000000000000000000000000b0";
  const token = new ethers.Interface(TOKEN_ABI);
  let nonce = await provider.getTransactionCount(me, "pending");
  const gasPrice = BigInt(await rpc(url, "eth_gasPrice", [])) * 2n;
  const send = async (fields) => {
    const signed = await wallet.signTransaction({ chainId, nonce: nonce++, gasLimit: 2_000_000, ...fields });
    return receipt(url, await rpc(url, "eth_sendRawTransaction", [signed]));
  };
  const creation = `0x${readFileSync(process.env.TOKEN_BIN, "utf8").trim()}`;
  const deploy = await send({
    type: 2,
    maxFeePerGas: gasPrice,
    maxPriorityFeePerGas: 1n,
    data: creation + token.encodeDeploy(["Shape", "SHP", 1_000_000]).slice(2),
  });
  const address = deploy.contractAddress;
  const transfer = token.encodeFunctionData("transfer", [bob, 5]);
  const legacy = await send({ type: 0, gasPrice, to: address, data: transfer });
  const accessList = await send({
    type: 1,
    gasPrice,
    to: address,
    data: transfer,
    accessList: [{ address, storageKeys: [ethers.zeroPadValue("0x01", 32)] }],
  });
  const dynamic = await send({ type: 2, maxFeePerGas: gasPrice, maxPriorityFeePerGas: 1n, to: address, data: transfer });

  const answers = {};
  const ask = async (name, method, params) => (answers[name] = await request(url, method, params));
  const block = dynamic.blockNumber;
  await ask("chainId", "eth_chainId", []);
  await ask("blockNumber", "eth_blockNumber", []);
  await ask("syncing", "eth_syncing", []);
  await ask("netVersion", "net_version", []);
  await ask("netListening", "net_listening", []);
  await ask("accounts", "eth_accounts", []);
  await ask("gasPrice", "eth_gasPrice", []);
  await ask("maxPriorityFeePerGas", "eth_maxPriorityFeePerGas", []);
  await ask("blockHashes", "eth_getBlockByNumber", [block, false]);
  await ask("blockFull", "eth_getBlockByNumber", [block, true]);
  await ask("blockByHash", "eth_getBlockByHash", [dynamic.blockHash, false]);
  await ask("latestBlock", "eth_getBlockByNumber", ["latest", false]);
  await ask("missingBlock", "eth_getBlockByNumber", ["0xffffffff", false]);
  await ask("blockTxCount", "eth_getBlockTransactionCountByNumber", [block]);
  await ask("blockReceipts", "eth_getBlockReceipts", [block]);
  for (const [name, sent] of [["deploy", deploy], ["legacy", legacy], ["accessList", accessList], ["dynamic", dynamic]]) {
    await ask(`${name}Tx`, "eth_getTransactionByHash", [sent.transactionHash]);
    await ask(`${name}Receipt`, "eth_getTransactionReceipt", [sent.transactionHash]);
  }
  await ask("txByIndex", "eth_getTransactionByBlockNumberAndIndex", [block, "0x0"]);
  await ask("missingTx", "eth_getTransactionByHash", [ethers.ZeroHash]);
  await ask("logs", "eth_getLogs", [{ fromBlock: deploy.blockNumber, toBlock: "latest", address }]);
  await ask("feeHistory", "eth_feeHistory", ["0x3", "latest", [25, 75]]);
  await ask("balance", "eth_getBalance", [me, "latest"]);
  await ask("nonce", "eth_getTransactionCount", [me, "pending"]);
  await ask("code", "eth_getCode", [address, "latest"]);
  await ask("storage", "eth_getStorageAt", [address, "0x0", "latest"]);
  const balanceOf = token.encodeFunctionData("balanceOf", [bob]);
  await ask("call", "eth_call", [{ to: address, data: balanceOf }, "latest"]);
  await ask("estimate", "eth_estimateGas", [{ from: me, to: address, data: transfer }]);
  const tooMuch = token.encodeFunctionData("transfer", [me, 10n ** 30n]);
  await ask("revert", "eth_call", [{ from: bob, to: address, data: tooMuch }, "latest"]);
  await ask("unknownMethod", "eth_noSuchMethod", []);
  await ask("badParams", "eth_getBalance", ["not an address"]);
  return answers;
}

// Signature values are quantities: geth drops their leading zeros, anvil pads them to 32
// bytes; clients read both.
const QUANTITIES = new Set(["r", "s", "v", "yParity"]);

// The kind of a JSON value under `key`, as clients parse it: hex strings by their length
// (hashes, addresses and blooms have fixed sizes), objects by their keys, arrays by their
// elements. Where anvil 1.7.1 departs from geth, geth's kind counts: a receipt's
// `blockTimestamp` is a hex quantity there (anvil writes a JSON number).
function kind(value, key) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (key === "blockTimestamp" && typeof value === "number") return "hex";
  if (typeof value === "string" && /^0x[0-9a-fA-F]*$/.test(value)) {
    if (QUANTITIES.has(key)) return "hex";
    if (value.length === 66) return "hash";
    if (value.length === 42) return "address";
    if (value.length === 514) return "bloom";
    return "hex";
  }
  return typeof value;
}

// Where the shapes of `ours` and `theirs` differ, as "path: what" lines.
function differences(path, ours, theirs, key) {
  const a = kind(ours, key);
  const b = kind(theirs, key);
  if (a !== b) return [`${path}: ${a} here, ${b} on anvil (${JSON.stringify(ours)} / ${JSON.stringify(theirs)})`];
  if (a === "array") {
    if (ours.length === 0 || theirs.length === 0) return [];
    return differences(`${path}[0]`, ours[0], theirs[0], key);
  }
  if (a !== "object") return [];
  const found = [];
  for (const key of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
    if (!(key in theirs)) found.push(`${path}.${key}: only here`);
    else if (!(key in ours)) found.push(`${path}.${key}: missing (anvil has ${JSON.stringify(theirs[key])})`);
    else found.push(...differences(`${path}.${key}`, ours[key], theirs[key], key));
  }
  return found;
}

// Error messages are the implementers' own; codes and the presence of data are the shape.
function errorShape(answer) {
  if (!answer.error) return answer;
  const { code, data } = answer.error;
  return { error: { code, data: data === undefined ? "absent" : kind(data) } };
}

const anvil = await startAnvil();
try {
  const ours = await within(LIMIT * 4, "the script against Atoll", script(process.env.RPC_URL, process.env.PRIVATE_KEY));
  const theirs = await within(LIMIT, "the script against anvil", script(anvil.url, ANVIL_KEY));
  const found = [];
  for (const name of Object.keys(ours)) {
    found.push(...differences(name, errorShape(ours[name]), errorShape(theirs[name])));
  }
  if (found.length > 0) {
    console.error(`shape differences from anvil:\n  ${found.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`shape: ${Object.keys(ours).length} answers shaped as anvil's`);
} finally {
  anvil.child.kill();
}
