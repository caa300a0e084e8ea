// What the client scripts share: the test ERC-20's interface in human-readable ABI (both
// ethers and viem's parseAbi read it) and a deadline for anything that waits.

export const TOKEN_ABI = [
  "constructor(string name_, string symbol_, uint256 supply)",
  "function name() view returns (string)",
  "function balanceOf(address) view returns (uint256)",
  "function transfer(address to, uint256 value) returns (bool)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "error InsufficientBalance(uint256 available, uint256 required)",
];

// `promise`, or a rejection naming `what` after `ms` (the timer does not keep the process
// alive once everything else is done).
export const within = (ms, what, promise) =>
  Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref()),
  ]);
