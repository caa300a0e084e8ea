//! Contracts Ethereum tools assume at their canonical addresses, in the genesis state with
//! their canonical runtime bytecode (the bytes their specifications publish):
//!
//! - the deterministic deployment proxy (CREATE2 deployer) foundry uses, at
//!   `0x4e59b44847b379578588920ca78fbf26c0b4956c`: input = 32-byte salt ‖ init code,
//!   output = the created address;
//! - Multicall3, at `0xcA11bde05977b3631167028862bE2a173976CA11` (viem, ethers and many
//!   dapps batch reads through it); its runtime bytecode is the code its published creation
//!   bytecode deploys (the 5,561 bytes after the 32-byte constructor).

use revm::primitives::{address, Address};

/// The CREATE2 deployer's address.
pub const CREATE2_DEPLOYER: Address = address!("4e59b44847b379578588920ca78fbf26c0b4956c");
/// Multicall3's address.
pub const MULTICALL3: Address = address!("cA11bde05977b3631167028862bE2a173976CA11");

/// Every predeploy: address and runtime bytecode (hex).
pub fn all() -> [(Address, &'static str); 2] {
    [
        (CREATE2_DEPLOYER, include_str!("create2_deployer.hex")),
        (MULTICALL3, include_str!("multicall3.hex")),
    ]
}
