"""Real values for the generated (non-docker) resources: random passwords/strings and TLS keys."""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
from typing import Any

from .errors import RealizerError

# terraform-provider-random's default special set
DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"

RANDOM_KEYS = {
    "length",
    "special",
    "upper",
    "lower",
    "numeric",
    "number",
    "minUpper",
    "minLower",
    "minNumeric",
    "minSpecial",
    "overrideSpecial",
    "keepers",
}


def random_string(inputs: dict, what: str) -> str:
    """Generate a string honoring random's RandomPassword/RandomString inputs."""
    unknown = sorted(set(inputs) - RANDOM_KEYS)
    if unknown:
        raise RealizerError(f"{what}: unsupported input(s) {', '.join(unknown)}")
    length = inputs.get("length")
    if not isinstance(length, int) or isinstance(length, bool) or length < 1:
        raise RealizerError(f"{what}: 'length' must be a positive integer, got {length!r}")

    def flag(name: str) -> bool:
        v = inputs.get(name)
        return True if v is None else bool(v)

    numeric = flag("numeric") and flag("number")
    special_chars = inputs.get("overrideSpecial")
    if special_chars is None or special_chars == "":
        special_chars = DEFAULT_SPECIAL
    classes = [
        ("upper", flag("upper"), string.ascii_uppercase, int(inputs.get("minUpper") or 0)),
        ("lower", flag("lower"), string.ascii_lowercase, int(inputs.get("minLower") or 0)),
        ("numeric", numeric, string.digits, int(inputs.get("minNumeric") or 0)),
        ("special", flag("special"), special_chars, int(inputs.get("minSpecial") or 0)),
    ]
    rng = secrets.SystemRandom()
    chars: list[str] = []
    pool = ""
    for _name, enabled, alphabet, minimum in classes:
        if not enabled:
            continue  # like the provider: a disabled class ignores its minimum
        pool += alphabet
        chars.extend(secrets.choice(alphabet) for _ in range(minimum))
    if not pool:
        raise RealizerError(f"{what}: every character class is disabled")
    if len(chars) > length:
        raise RealizerError(f"{what}: the minimum counts ({len(chars)}) exceed length {length}")
    chars.extend(secrets.choice(pool) for _ in range(length - len(chars)))
    rng.shuffle(chars)
    return "".join(chars)


def random_password(inputs: dict, what: str) -> dict:
    result = random_string(inputs, what)
    out = {"result": result}
    try:
        import bcrypt  # in requirements.txt; without it the program's web logins refuse to render

        out["bcryptHash"] = bcrypt.hashpw(result.encode()[:72], bcrypt.gensalt()).decode()
    except ImportError:  # pragma: no cover - components.secrets.web_login names what is missing
        pass
    return out


PRIVATE_KEY_KEYS = {"algorithm", "rsaBits", "ecdsaCurve"}
PRIVATE_KEY_SECRET_OUTPUTS = {"privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"}


def _ssh_fingerprints(openssh_pub: str) -> tuple[str, str]:
    if not openssh_pub:
        return "", ""
    blob = base64.b64decode(openssh_pub.split()[1])
    md5 = hashlib.md5(blob).hexdigest()
    md5_fp = ":".join(md5[i : i + 2] for i in range(0, len(md5), 2))
    sha = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return md5_fp, f"SHA256:{sha}"


def private_key(inputs: dict, what: str) -> dict:
    """A real key like tls.PrivateKey: outputs named as the tls provider names them."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    unknown = sorted(set(inputs) - PRIVATE_KEY_KEYS)
    if unknown:
        raise RealizerError(f"{what}: unsupported input(s) {', '.join(unknown)}")
    algorithm = inputs.get("algorithm")
    if algorithm == "RSA":
        bits = int(inputs.get("rsaBits") or 2048)
        key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        trad = ser.PrivateFormat.TraditionalOpenSSL
    elif algorithm == "ECDSA":
        curves = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1, "P521": ec.SECP521R1}
        curve = inputs.get("ecdsaCurve") or "P224"
        if curve not in curves:
            raise RealizerError(f"{what}: unsupported ecdsaCurve {curve!r}")
        key = ec.generate_private_key(curves[curve]())
        trad = ser.PrivateFormat.TraditionalOpenSSL
    elif algorithm == "ED25519":
        key = ed25519.Ed25519PrivateKey.generate()
        trad = ser.PrivateFormat.PKCS8
    else:
        raise RealizerError(f"{what}: unsupported algorithm {algorithm!r} (RSA, ECDSA, ED25519)")
    pub = key.public_key()
    pem = key.private_bytes(ser.Encoding.PEM, trad, ser.NoEncryption()).decode()
    pkcs8 = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()).decode()
    try:
        priv_ssh = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption()).decode()
        pub_ssh = pub.public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH).decode() + "\n"
    except (ValueError, TypeError):  # e.g. P224 has no OpenSSH form; the provider leaves these empty
        priv_ssh, pub_ssh = "", ""
    md5_fp, sha_fp = _ssh_fingerprints(pub_ssh)
    return {
        "algorithm": algorithm,
        "privateKeyPem": pem,
        "privateKeyPemPkcs8": pkcs8,
        "privateKeyOpenssh": priv_ssh,
        "publicKeyPem": pub.public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo).decode(),
        "publicKeyOpenssh": pub_ssh,
        "publicKeyFingerprintMd5": md5_fp,
        "publicKeyFingerprintSha256": sha_fp,
    }


def generate(type_: str, inputs: dict[str, Any], what: str) -> tuple[dict, set[str]]:
    """Return (outputs, names of secret outputs) for a generated resource type."""
    if type_ == "random:index/randomPassword:RandomPassword":
        return random_password(inputs, what), {"result", "bcryptHash"}
    if type_ == "random:index/randomString:RandomString":
        return {"result": random_string(inputs, what)}, set()
    if type_ == "tls:index/privateKey:PrivateKey":
        return private_key(inputs, what), set(PRIVATE_KEY_SECRET_OUTPUTS)
    raise RealizerError(f"no generator for {type_}")  # pragma: no cover


GENERATED_TYPES = {
    "random:index/randomPassword:RandomPassword",
    "random:index/randomString:RandomString",
    "tls:index/privateKey:PrivateKey",
}
SECRET_OUTPUTS = {
    "random:index/randomPassword:RandomPassword": {"result", "bcryptHash"},
    "random:index/randomString:RandomString": set(),
    "tls:index/privateKey:PrivateKey": set(PRIVATE_KEY_SECRET_OUTPUTS),
}
