"""Run esp-idf's esp_prov with its randomness pinned, so an exchange can be recorded and replayed
byte for byte. Same bytes as Tether's seededRandom(seed): SHA-256 of "<seed>:<counter>", in order.
os.urandom feeds security 2 (srp6a.py get_random); X25519PrivateKey.generate feeds security 1.

    IDF_PATH=<esp-idf checkout> PIN_SEED='esp_prov client sec2' python3 pinned_esp_prov.py <esp_prov arguments>
"""
import asyncio
import hashlib
import os
import sys

SEED = os.environ['PIN_SEED']
_counter = 0


def pinned(size):
    global _counter
    out = b''
    while len(out) < size:
        out += hashlib.sha256(f'{SEED}:{_counter}'.encode()).digest()
        _counter += 1
    return out[:size]


os.urandom = pinned
sys.path.insert(0, os.environ['IDF_PATH'] + '/tools/esp_prov')
sys.path.insert(0, os.environ['IDF_PATH'] + '/components/protocomm/python')

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402

X25519PrivateKey.generate = staticmethod(lambda: X25519PrivateKey.from_private_bytes(pinned(32)))
sys.argv[0] = 'esp_prov.py'
import esp_prov  # noqa: E402

asyncio.run(esp_prov.main())
