"""moto_server with DynamoDB requests taken one at a time.

DynamoDB applies each conditional write atomically; moto's threaded server does not (two
concurrent UpdateItem calls can both pass the same condition), so tests of races between pollers
and claimers fail by chance under load. Serialising DynamoDB calls restores DynamoDB's semantics;
SQS (with its long polls) and the other services stay concurrent. Usage is moto_server's own:
    python3 test/support/moto_server_serialized.py -H 127.0.0.1 -p 4566
"""
import sys
import threading

from moto.dynamodb.responses import DynamoHandler
from moto.server import main

_lock = threading.Lock()
_call_action = DynamoHandler.call_action


def _serialised_call_action(self):  # type: ignore[no-untyped-def]
    with _lock:
        return _call_action(self)


DynamoHandler.call_action = _serialised_call_action

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
