"""moto's server (https://github.com/getmoto/moto) with DynamoDB's per-item atomicity.

Real DynamoDB applies each PutItem, UpdateItem, DeleteItem and transaction atomically: two
concurrent `SET n = n + :one` never lose an increment, two conditional puts never both win.
moto's threaded server applies them without a lock, so concurrent writes to one item can
interleave (seen: 19 of 20 concurrent counter updates kept). The adapters' concurrency tests
assert DynamoDB's guarantee, so this wrapper serialises moto's DynamoDB writes and then runs
moto's own `moto_server` entry point with the same arguments.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_lock = threading.RLock()


def _atomic(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _lock:
            return method(*args, **kwargs)

    return wrapper


for _name in _WRITES:
    setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
