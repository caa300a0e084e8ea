"""web3.py against an Atoll EVM ParaTime, with no Atoll-specific code: deploy the test ERC-20
from transactions signed locally with eth-account and sent raw, wait for receipts, call,
read logs with get_logs, and see a revert.

Environment: RPC_URL, PRIVATE_KEY (a funded account), TOKEN_BIN (creation code).
"""

import os

from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError

ABI = [
    {"type": "constructor", "stateMutability": "nonpayable", "inputs": [
        {"name": "name_", "type": "string"}, {"name": "symbol_", "type": "string"},
        {"name": "supply", "type": "uint256"}]},
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "who", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "transfer", "stateMutability": "nonpayable",
     "inputs": [{"name": "to", "type": "address"}, {"name": "value", "type": "uint256"}],
     "outputs": [{"name": "", "type": "bool"}]},
    {"type": "event", "name": "Transfer", "anonymous": False, "inputs": [
        {"name": "from", "type": "address", "indexed": True},
        {"name": "to", "type": "address", "indexed": True},
        {"name": "value", "type": "uint256", "indexed": False}]},
    {"type": "error", "name": "InsufficientBalance", "inputs": [
        {"name": "available", "type": "uint256"}, {"name": "required", "type": "uint256"}]},
]


def send(w3, account, tx):
    """Fills, signs locally, sends raw, waits for the receipt."""
    tx = {**tx, "from": account.address, "chainId": w3.eth.chain_id,
          "nonce": w3.eth.get_transaction_count(account.address, "pending")}
    tx.setdefault("gas", w3.eth.estimate_gas(tx))
    tx.setdefault("maxFeePerGas", 2 * w3.eth.get_block("latest")["baseFeePerGas"])
    tx.setdefault("maxPriorityFeePerGas", w3.eth.max_priority_fee)
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.25)
    assert receipt["status"] == 1, receipt
    return receipt


def main():
    w3 = Web3(Web3.HTTPProvider(os.environ["RPC_URL"]))
    assert w3.is_connected()
    assert w3.eth.chain_id == 2672
    account = Account.from_key(os.environ["PRIVATE_KEY"])
    bob = Account.create().address
    with open(os.environ["TOKEN_BIN"], encoding="utf-8") as f:
        bytecode = "0x" + f.read().strip()

    factory = w3.eth.contract(abi=ABI, bytecode=bytecode)
    deploy = factory.constructor("Web3py", "W3PY", 1_000_000).build_transaction(
        {"from": account.address})
    created = send(w3, account, {"data": deploy["data"]})
    token = w3.eth.contract(address=created["contractAddress"], abi=ABI)

    moved = send(w3, account, token.functions.transfer(bob, 42).build_transaction(
        {"from": account.address, "gas": 100_000}))
    assert token.functions.balanceOf(bob).call() == 42
    assert w3.eth.get_transaction(moved["transactionHash"])["from"] == account.address

    logs = token.events.Transfer.get_logs(from_block=0, to_block="latest",
                                          argument_filters={"to": bob})
    assert len(logs) == 1 and logs[0]["args"]["value"] == 42, logs
    raw = w3.eth.get_logs({"fromBlock": 0, "address": token.address})
    assert len(raw) == 2, raw  # the mint and the transfer

    try:
        token.functions.transfer(account.address, 10**30).call({"from": bob})
        raise AssertionError("the call should revert")
    except (ContractCustomError, ContractLogicError) as error:
        assert "0x" in str(error) or "InsufficientBalance" in str(error), error
    print("web3.py: ok")


if __name__ == "__main__":
    main()
