"""Signed evidence (SPEC "Signed evidence for auditors"): our signatures check with openssl alone.

The keys come from `openssl genpkey`; the verdicts from `openssl pkeyutl -verify -rawin`, so
a signature our code accepted but that is not a plain Ed25519 signature of the file's bytes
fails here. Every single-byte change of a file or its signature is checked with our
verifier (in process, fast); a spread of them with openssl too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.access.audit.cli import app
from tests.integration.access.audit.history import History

pytestmark = pytest.mark.integration

runner = CliRunner()
OPENSSL = shutil.which("openssl") or "openssl"


def audit(history: History, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"DATABASE_URL": history.url})
    return result.exit_code, result.stdout


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(private, public) PEM files, as an auditor's openssl writes them."""
    folder = tmp_path_factory.mktemp("keys")
    private, public = folder / "signer.pem", folder / "signer.pub.pem"
    subprocess.run([OPENSSL, "genpkey", "-algorithm", "ed25519", "-out", str(private)],
                   check=True, capture_output=True)
    subprocess.run([OPENSSL, "pkey", "-in", str(private), "-pubout", "-out", str(public)],
                   check=True, capture_output=True)
    return private, public


def openssl_verifies(public: Path, evidence: Path, signature: Path) -> bool:
    done = subprocess.run([OPENSSL, "pkeyutl", "-verify", "-pubin", "-inkey", str(public),
                           "-rawin", "-in", str(evidence), "-sigfile", str(signature)],
                          capture_output=True, check=False)
    return done.returncode == 0


def our_verdict(history: History, evidence: Path, public: Path) -> int:
    return audit(history, "verify-signature", str(evidence), "--public-key", str(public))[0]


@pytest.fixture(scope="module")
def signed_export(history: History, keys: tuple[Path, Path],
                  tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("export") / "log.jsonl"
    code, out = audit(history, "export", "--out", str(target), "--sign", str(keys[0]))
    assert code == 0, out
    return target


@pytest.fixture(scope="module")
def signed_review(history: History, keys: tuple[Path, Path],
                  tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("review") / "garasje.json"
    at = next(s for s in history.snapshots if s.step == "moved").at.isoformat()
    code, out = audit(history, "review", "--charger", str(history.garasje), "--at", at,
                      "--out", str(target), "--sign", str(keys[0]))
    assert code == 0, out
    return target


@pytest.mark.parametrize("evidence", ["signed_export", "signed_review"])
def test_a_signed_file_verifies_with_openssl_alone_and_with_ours(
        request: pytest.FixtureRequest, history: History, keys: tuple[Path, Path],
        evidence: str) -> None:
    path: Path = request.getfixturevalue(evidence)
    signature = path.with_name(path.name + ".sig")
    assert len(signature.read_bytes()) == 64
    assert openssl_verifies(keys[1], path, signature)
    assert our_verdict(history, path, keys[1]) == 0


def _changed(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


def _spread(size: int) -> list[int]:
    """First, last and a few in between: the byte positions also checked with openssl."""
    return sorted({0, 1, size // 3, size // 2, size - 2, size - 1})


@pytest.mark.parametrize("part", ["file", "signature"])
def test_any_single_changed_byte_fails_verification(
        history: History, keys: tuple[Path, Path], signed_review: Path,
        tmp_path: Path, part: str) -> None:
    from services.access.audit.signing import is_intact, load_public_key

    public = load_public_key(keys[1])
    original_file = signed_review.read_bytes()
    original_sig = signed_review.with_name(signed_review.name + ".sig").read_bytes()
    evidence, signature = tmp_path / "copy.json", tmp_path / "copy.json.sig"
    evidence.write_bytes(original_file)
    signature.write_bytes(original_sig)
    assert is_intact(evidence, public)
    original = original_file if part == "file" else original_sig
    target = evidence if part == "file" else signature
    for index in range(len(original)):
        target.write_bytes(_changed(original, index))
        assert not is_intact(evidence, public), f"{part} byte {index} changed, still verified"
        if index in _spread(len(original)):
            assert not openssl_verifies(keys[1], evidence, signature), index
            assert our_verdict(history, evidence, keys[1]) == 1, index
    target.write_bytes(original)
    assert openssl_verifies(keys[1], evidence, signature)


def test_a_changed_export_line_fails_with_openssl(history: History, keys: tuple[Path, Path],
                                                  signed_export: Path, tmp_path: Path) -> None:
    evidence = tmp_path / "log.jsonl"
    signature = tmp_path / "log.jsonl.sig"
    signature.write_bytes(signed_export.with_name("log.jsonl.sig").read_bytes())
    data = signed_export.read_bytes()
    for tampered in (_changed(data, len(data) // 2), data + b"\n", data[:-1]):
        evidence.write_bytes(tampered)
        assert not openssl_verifies(keys[1], evidence, signature)
        assert our_verdict(history, evidence, keys[1]) == 1


def test_a_signature_by_another_key_and_a_missing_signature_fail(
        history: History, keys: tuple[Path, Path], signed_review: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    subprocess.run([OPENSSL, "genpkey", "-algorithm", "ed25519", "-out", str(other)],
                   check=True, capture_output=True)
    other_public = tmp_path / "other.pub.pem"
    subprocess.run([OPENSSL, "pkey", "-in", str(other), "-pubout", "-out", str(other_public)],
                   check=True, capture_output=True)
    assert our_verdict(history, signed_review, other_public) == 1
    lonely = tmp_path / "unsigned.json"
    lonely.write_bytes(signed_review.read_bytes())
    assert our_verdict(history, lonely, keys[1]) == 1


def test_signing_with_something_that_is_not_an_ed25519_key_is_refused(
        history: History, tmp_path: Path) -> None:
    rsa = tmp_path / "rsa.pem"
    subprocess.run([OPENSSL, "genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:1024",
                    "-out", str(rsa)], check=True, capture_output=True)
    target = tmp_path / "r.json"
    code, _ = audit(history, "review", "--charger", str(history.garasje), "--out", str(target),
                    "--sign", str(rsa))
    assert code == 2
    assert not target.exists()


# --- review ------------------------------------------------------------------------------


def _access_at(history: History, at: str) -> dict:
    code, out = audit(history, "access-at", "--charger", str(history.garasje), "--at", at,
                      "--json")
    assert code == 0, out
    return json.loads(out)


def _export_hashes(history: History) -> dict[int, str]:
    code, out = audit(history, "export")
    assert code == 0
    return {line["position"]: line["hash"] for line in map(json.loads, out.splitlines())}


def test_review_has_exactly_the_fields_spec_gives(signed_review: Path, history: History) -> None:
    answer = json.loads(signed_review.read_text())
    assert set(answer) == {"charger_id", "at", "position", "chain_hash", "users"}
    assert answer["charger_id"] == str(history.garasje)
    assert all(set(user) == {"user_id", "level", "why"} for user in answer["users"])


@pytest.mark.parametrize("step", ["registered", "accepted", "edited", "moved", "removed",
                                  "given"])
def test_review_agrees_with_the_access_at_auditor_and_names_the_chain_link(
        history: History, tmp_path: Path, step: str) -> None:
    at = next(s for s in history.snapshots if s.step == step).at.isoformat()
    target = tmp_path / "review.json"
    code, out = audit(history, "review", "--charger", str(history.garasje), "--at", at,
                      "--out", str(target))
    assert code == 0, out
    review = json.loads(target.read_text())
    auditor = _access_at(history, at)
    assert review["at"] == auditor["at"]
    assert review["position"] == auditor["position"]
    assert review["users"] == [{k: u[k] for k in ("user_id", "level", "why")}
                               for u in auditor["users"] if u["in_effect"]]
    assert review["users"], step
    assert review["chain_hash"] == _export_hashes(history)[review["position"]]


def test_review_without_at_is_of_now_and_pins_the_last_published_event(
        history: History, tmp_path: Path) -> None:
    target = tmp_path / "now.json"
    code, out = audit(history, "review", "--charger", str(history.garasje), "--out",
                      str(target))
    assert code == 0, out
    review = json.loads(target.read_text())
    hashes = _export_hashes(history)
    code, out = audit(history, "export")
    published = [line["position"] for line in map(json.loads, out.splitlines())
                 if line["published"]]
    assert review["position"] == published[-1]
    assert review["chain_hash"] == hashes[published[-1]]
    assert [u["user_id"] for u in review["users"]] == [str(history.eva)]
