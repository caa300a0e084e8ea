"""A typed client generated from a node's OpenAPI document, and live answers read with it.

datamodel-code-generator (PyPI) writes pydantic models for every schema of the node's
`/openapi.json`, with undocumented fields forbidden; then answers of the live node — its
status, the latest block, the chain, an account with its delegations, the validators,
entities, nodes, runtimes, epoch and beacon — are parsed into the generated models. A field
the document names wrongly, types wrongly, or leaves out fails the parse.

    typed_client.py http://127.0.0.1:26657 <address with delegations>
"""

import importlib.util
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.read()


def generate(api, directory):
    """Writes the models of `api`'s document into `directory` and imports them."""
    document = directory / "openapi.json"
    document.write_bytes(fetch(f"{api}/openapi.json"))
    models = directory / "atoll_api.py"
    generator = Path(sys.executable).parent / "datamodel-codegen"
    subprocess.run(
        [str(generator), "--input", str(document), "--input-file-type", "openapi",
         "--output-model-type", "pydantic_v2.BaseModel", "--extra-fields", "forbid",
         "--no-formatters", "--output", str(models)],
        check=True, capture_output=True)
    spec = importlib.util.spec_from_file_location("atoll_api", models)
    module = importlib.util.module_from_spec(spec)
    sys.modules["atoll_api"] = module
    spec.loader.exec_module(module)
    return module


def main():
    api, address = sys.argv[1].rstrip("/"), sys.argv[2]
    with tempfile.TemporaryDirectory() as directory:
        models = generate(api, Path(directory))
        answers = [
            ("/v1/status", models.Status),
            ("/v1/blocks/latest", models.BlockResponse),
            ("/v1/chain", models.StateResponseChainInfo),
            (f"/v1/accounts/{address}", models.StateResponseAccount),
            (f"/v1/accounts/{address}/delegations", models.StateResponseVecDelegationPair),
            ("/v1/validators", models.StateResponseVecValidator),
            ("/v1/entities", models.StateResponseVecEntity),
            ("/v1/nodes", models.StateResponseVecNode),
            ("/v1/runtimes", models.StateResponseVecRuntime),
            ("/v1/epoch", models.StateResponseEpochInfo),
            ("/v1/beacon", models.StateResponseBeaconState),
        ]
        parsed = {}
        for path, model in answers:
            parsed[path] = model.model_validate_json(fetch(api + path))
            print(f"{path}: {type(parsed[path]).__name__}")
        account = parsed[f"/v1/accounts/{address}"]
        delegations = parsed[f"/v1/accounts/{address}/delegations"]
        print(f"typed: balance {account.value.general.balance.root}, "
              f"{len(delegations.value)} delegation(s)")


if __name__ == "__main__":
    main()
