// Hardhat, configured as a project would point it at a remote chain: one network, the
// endpoint's URL and a funded key. Nothing Atoll-specific. The contract comes precompiled
// (paratimes/evm/contracts/Token.bin), so scripts run with `--no-compile`.
require("@nomicfoundation/hardhat-ethers");

module.exports = {
  solidity: "0.8.28",
  networks: {
    atoll: { url: process.env.RPC_URL ?? "http://127.0.0.1:8545", accounts: process.env.PRIVATE_KEY ? [process.env.PRIVATE_KEY] : [] },
  },
};
