// Hardhat's ethers plugin against an Atoll EVM ParaTime: deploy the test ERC-20 from its
// ABI and bytecode, call it, transfer and wait, read the Transfer events, decode a
// custom-error revert, and ask the network provider for the chain id and the latest block.
//
// Run: RPC_URL=… PRIVATE_KEY=… TOKEN_BIN=… npx hardhat run --no-compile --network atoll scripts/token.js
const assert = require("node:assert/strict");
const { readFileSync } = require("node:fs");
const hre = require("hardhat");

async function main() {
  const { TOKEN_ABI, within } = await import("../../js/common.mjs");
  const { ethers } = hre;
  const [signer] = await ethers.getSigners();
  const bob = ethers.Wallet.createRandom().address;
  assert.equal(await hre.network.provider.send("eth_chainId"), "0xa70", "chain id");

  const bytecode = "0x" + readFileSync(process.env.TOKEN_BIN, "utf8").trim();
  const factory = await ethers.getContractFactory(TOKEN_ABI, bytecode, signer);
  const token = await factory.deploy("Hardhat", "HH", 1_000n);
  await within(60_000, "deployment", token.waitForDeployment());
  assert.equal(await token.name(), "Hardhat");
  assert.equal(await token.balanceOf(signer.address), 1_000n);

  const sent = await token.transfer(bob, 40n);
  const receipt = await within(60_000, "transfer receipt", sent.wait());
  assert.equal(receipt.status, 1);
  assert.equal(await token.balanceOf(bob), 40n);
  const events = await token.queryFilter(token.filters.Transfer(signer.address, bob), receipt.blockNumber);
  assert.equal(events.length, 1);
  assert.equal(events[0].args.value, 40n);

  // Hardhat hands on the node's JSON-RPC error (code 3, the revert data), as it does for
  // any remote network; the contract's interface decodes the custom error.
  await assert.rejects(token.transfer.staticCall(bob, 10n ** 30n), (error) => {
    assert.equal(error.code, 3);
    assert.equal(token.interface.parseError(error.data)?.name, "InsufficientBalance");
    return true;
  });

  const block = await ethers.provider.getBlock("latest");
  assert.ok(block.number >= receipt.blockNumber);
  console.log("hardhat: ok");
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
