// viem against an Atoll EVM ParaTime, with no Atoll-specific code: deploy the test ERC-20,
// waitForTransactionReceipt, watchContractEvent, estimateFeesPerGas, multicall through the
// predeployed Multicall3, and a reverting simulateContract with its custom error decoded.
//
// Environment: RPC_URL, WS_URL, PRIVATE_KEY (a funded account), TOKEN_BIN (creation code).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createPublicClient, createWalletClient, defineChain, http, parseAbi } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { TOKEN_ABI, within } from "./common.mjs";

const abi = parseAbi(TOKEN_ABI);

const chain = defineChain({
  id: 2672,
  name: "Atoll EVM ParaTime",
  nativeCurrency: { name: "Atoll", symbol: "ATL", decimals: 18 },
  rpcUrls: { default: { http: [process.env.RPC_URL], webSocket: [process.env.WS_URL] } },
  contracts: { multicall3: { address: "0xcA11bde05977b3631167028862bE2a173976CA11" } },
});
const account = privateKeyToAccount(process.env.PRIVATE_KEY);
const bob = privateKeyToAccount(generatePrivateKey()).address;
const publicClient = createPublicClient({ chain, transport: http(), pollingInterval: 250 });
const walletClient = createWalletClient({ chain, transport: http(), account });

assert.equal(await publicClient.getChainId(), 2672);
const fees = await publicClient.estimateFeesPerGas();
assert.ok(fees.maxFeePerGas > 0n && fees.maxFeePerGas >= fees.maxPriorityFeePerGas);

const bytecode = "0x" + readFileSync(process.env.TOKEN_BIN, "utf8").trim();
const deployHash = await walletClient.deployContract({
  abi,
  bytecode,
  args: ["Viem", "VIEM", 1_000_000n],
});
const deployed = await within(60_000, "deployment", publicClient.waitForTransactionReceipt({ hash: deployHash }));
assert.equal(deployed.status, "success");
const address = deployed.contractAddress;

const heard = new Promise((resolve) => {
  const unwatch = publicClient.watchContractEvent({
    address,
    abi,
    eventName: "Transfer",
    onLogs: (logs) => {
      const log = logs.find((l) => l.args.to === bob);
      if (log) {
        unwatch();
        resolve(log.args.value);
      }
    },
  });
});
const transferHash = await walletClient.writeContract({
  address,
  abi,
  functionName: "transfer",
  args: [bob, 7n],
});
const receipt = await within(60_000, "transfer receipt", publicClient.waitForTransactionReceipt({ hash: transferHash }));
assert.equal(receipt.status, "success");
assert.equal(await within(60_000, "watchContractEvent", heard), 7n);

const [balance, name] = await publicClient.multicall({
  contracts: [
    { address, abi, functionName: "balanceOf", args: [bob] },
    { address, abi, functionName: "name" },
  ],
  allowFailure: false,
});
assert.equal(balance, 7n);
assert.equal(name, "Viem");

await assert.rejects(
  publicClient.simulateContract({ account, address, abi, functionName: "transfer", args: [bob, 10n ** 30n] }),
  (error) => {
    assert.match(error.message, /InsufficientBalance/);
    return true;
  },
);
console.log("viem: ok");
