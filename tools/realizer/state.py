"""The realizer's state file: ``<state-dir>/<stack>/state.json`` (dir 0700, file 0600).

It keeps what Pulumi's state would keep for the resources the realizer
generates itself (random passwords, TLS keys: reused on the next ``up``), the
stack outputs of the last ``up``, and a per-stack key for the container spec
hashes.

Secret values are stored as ``{"plaintext": v}`` or, when the environment
variable ``PULUMI_CONFIG_PASSPHRASE`` is set, as ``{"ciphertext": token}``: a
Fernet token under a key derived from the passphrase with scrypt (salt kept in
the file). A state holding ciphertext cannot be read without the passphrase,
and a wrong passphrase is refused (checked against an encrypted marker).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import time
from typing import Any

from .errors import RealizerError

PASSPHRASE_ENV = "PULUMI_CONFIG_PASSPHRASE"
STATE_VERSION = 1
_CHECK = "novaops-realizer-state"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}


def state_path(state_dir: str, stack: str) -> str:
    return os.path.join(state_dir, stack, "state.json")


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int):
    from cryptography.fernet import Fernet
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    key = Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(key))


class State:
    """In-memory view of the state file; secret values are kept decrypted in memory."""

    def __init__(self, path: str, data: dict | None = None, fernet=None):
        self.path = path
        self.data = data or {"version": STATE_VERSION}
        self._fernet = fernet
        self.data.setdefault("generated", {})
        self.data.setdefault("outputs", {})
        if "hashKey" not in self.data:
            self.data["hashKey"] = secrets.token_hex(32)

    # -- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, state_dir: str, stack: str, need_secrets: bool = True) -> State:
        path = state_path(state_dir, stack)
        passphrase = os.environ.get(PASSPHRASE_ENV)
        if not os.path.exists(path):
            st = cls(path)
            if passphrase:
                st._init_encryption(passphrase)
            return st
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError) as exc:
            raise RealizerError(f"cannot read state {path}: {exc}") from exc
        if data.get("version") != STATE_VERSION:
            raise RealizerError(f"state {path}: unsupported version {data.get('version')!r}")
        enc = data.get("encryption")
        fernet = None
        if enc:
            if not passphrase:
                if need_secrets:
                    raise RealizerError(
                        f"state {path} is encrypted: set {PASSPHRASE_ENV} to the passphrase it was written with"
                    )
            else:
                from cryptography.fernet import InvalidToken

                fernet = _derive(passphrase, base64.b64decode(enc["salt"]), enc["n"], enc["r"], enc["p"])
                try:
                    ok = fernet.decrypt(enc["check"].encode()).decode() == _CHECK
                except InvalidToken:
                    ok = False
                if not ok:
                    raise RealizerError(f"state {path}: wrong {PASSPHRASE_ENV} (cannot decrypt the state)")
        st = cls(path, data, fernet)
        if not enc and passphrase:
            st._init_encryption(passphrase)  # next save encrypts a formerly plaintext state
        return st

    def _init_encryption(self, passphrase: str) -> None:
        salt = os.urandom(16)
        self._fernet = _derive(passphrase, salt, **_SCRYPT)
        self.data["encryption"] = {
            "kdf": "scrypt",
            "salt": base64.b64encode(salt).decode(),
            **_SCRYPT,
            "check": self._fernet.encrypt(_CHECK.encode()).decode(),
        }

    @property
    def encrypted(self) -> bool:
        return bool(self.data.get("encryption"))

    # -- secret values -----------------------------------------------------------------------
    def seal(self, value: Any) -> dict:
        if self._fernet is not None:
            return {"ciphertext": self._fernet.encrypt(json.dumps(value).encode()).decode()}
        return {"plaintext": value}

    def unseal(self, box: dict) -> Any:
        if "plaintext" in box:
            return box["plaintext"]
        if self._fernet is None:
            raise RealizerError(f"state {self.path} is encrypted: set {PASSPHRASE_ENV}")
        return json.loads(self._fernet.decrypt(box["ciphertext"].encode()))

    # -- generated resources -----------------------------------------------------------------
    def get_generated(self, urn: str) -> dict | None:
        entry = self.data["generated"].get(urn)
        if not entry:
            return None
        return {"type": entry["type"], "inputsHash": entry["inputsHash"], "outputs": self.unseal(entry["outputs"])}

    def set_generated(self, urn: str, type_: str, inputs_hash: str, outputs: dict) -> None:
        self.data["generated"][urn] = {"type": type_, "inputsHash": inputs_hash, "outputs": self.seal(outputs)}

    def drop_generated(self, keep_urns: set[str]) -> list[str]:
        gone = [u for u in self.data["generated"] if u not in keep_urns]
        for u in gone:
            del self.data["generated"][u]
        return gone

    # -- stack outputs -----------------------------------------------------------------------
    def set_outputs(self, outputs: dict[str, tuple[Any, bool]]) -> None:
        self.data["outputs"] = {
            name: ({"secret": True, **self.seal(value)} if secret else {"secret": False, "value": value})
            for name, (value, secret) in outputs.items()
        }

    def get_outputs(self, show_secrets: bool) -> dict[str, Any]:
        result = {}
        for name, box in self.data["outputs"].items():
            if not box.get("secret"):
                result[name] = box.get("value")
            elif show_secrets:
                result[name] = self.unseal(box)
            else:
                result[name] = "[secret]"
        return result

    def secret_output_names(self) -> set[str]:
        return {n for n, b in self.data["outputs"].items() if b.get("secret")}

    # -- writing -----------------------------------------------------------------------------
    def save(self) -> None:
        d = os.path.dirname(self.path)
        os.makedirs(d, mode=0o700, exist_ok=True)
        os.chmod(d, 0o700)
        parent = os.path.dirname(d)
        if os.path.basename(parent) == ".novaops":
            os.chmod(parent, 0o700)
        self.data["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.data, fh, indent=2, sort_keys=True)
            fh.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
