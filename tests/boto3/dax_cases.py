#!/usr/bin/env python3
"""The DAX node's edge cases through boto3 (issue 19): what the cache must
not answer that DynamoDB would refuse, and what it must answer as DynamoDB
would. Run by tests/dax.rs against a DAX node in front of a DynamoDB node:

    python3 tests/boto3/dax_cases.py DAX_URL DYNAMODB_URL

Every case runs; each prints "ok  NAME" or "FAIL NAME: why"; the exit code
is the number of failed cases (0: all passed). The credentials are
placeholders: both nodes check that a request is signed, not by whom.
"""

import sys
import time
import uuid

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError


def client(url, signed=True):
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=15,
        signature_version=None if signed else UNSIGNED,
    )
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="sessiondrill",
        aws_secret_access_key="sessiondrill",
        config=config,
    )


class Failed(Exception):
    pass


def check(ok, why="check failed"):
    """A check that holds under `python -O` too (`assert` would vanish)."""
    if not ok:
        raise Failed(why)


def code(err):
    return err.response.get("Error", {}).get("Code", "")


def refused(call, *codes):
    """The error code of `call`, which must fail with one of `codes`."""
    try:
        call()
    except ClientError as e:
        check(code(e) in codes, f"refused with {code(e)}, expected {codes}")
        return code(e)
    raise Failed(f"answered; expected {codes}")


def create(db, table, keys):
    db.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
        KeySchema=[
            {"AttributeName": k, "KeyType": kind}
            for k, kind in zip(keys, ["HASH", "RANGE"])
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    db.get_waiter("table_exists").wait(
        TableName=table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50}
    )


def text(answer):
    return answer.get("Item", {}).get("text", {}).get("S")


def s(v):
    return {"S": v}


def batch_get_is_validated(dax, db, table):
    key = {"PK": s("b1"), "SK": s("t")}
    dax.put_item(TableName=table, Item={**key, "text": s("one")})
    check(text(dax.get_item(TableName=table, Key=key)) == "one", "the item was not read back")  # cached
    refused(
        lambda: dax.batch_get_item(RequestItems={table: {"Keys": [key, key]}}),
        "ValidationException",
    )
    # An empty RequestItems, sent as the JavaScript SDK sends it (botocore
    # refuses it before sending, so its validation is turned off here).
    loose = boto3.client(
        "dynamodb",
        endpoint_url=dax.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="sessiondrill",
        aws_secret_access_key="sessiondrill",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )
    refused(lambda: loose.batch_get_item(RequestItems={}), "ValidationException")


def partiql_is_refused_and_the_cache_stays_true(dax, db, table):
    key = {"PK": s("p1"), "SK": s("t")}
    dax.put_item(TableName=table, Item={**key, "text": s("before")})
    check(text(dax.get_item(TableName=table, Key=key)) == "before", "the item was not read back")  # cached
    refused(
        lambda: dax.execute_statement(
            Statement=f"UPDATE \"{table}\" SET text='partiql' WHERE PK='p1' AND SK='t'"
        ),
        "UnknownOperationException",
    )
    refused(
        lambda: dax.execute_transaction(
            TransactStatements=[{"Statement": f"SELECT * FROM \"{table}\""}]
        ),
        "UnknownOperationException",
    )
    refused(
        lambda: dax.batch_execute_statement(
            Statements=[{"Statement": f"SELECT * FROM \"{table}\""}]
        ),
        "UnknownOperationException",
    )
    stored = text(db.get_item(TableName=table, Key=key, ConsistentRead=True))
    cached = text(dax.get_item(TableName=table, Key=key))
    check((stored, cached) == ("before", "before"), f"stored {stored!r}, cached {cached!r}")


def a_deleted_table_is_forgotten(dax, db, _table):
    table = "boto3-recreated-" + uuid.uuid4().hex[:8]
    create(db, table, ["PK", "SK"])
    key = {"PK": s("d1"), "SK": s("t")}
    dax.put_item(TableName=table, Item={**key, "text": s("old")})
    check(text(dax.get_item(TableName=table, Key=key)) == "old", "the item was not read back")  # cached
    dax.delete_table(TableName=table)
    refused(
        lambda: dax.get_item(TableName=table, Key=key), "ResourceNotFoundException"
    )
    # Re-created with another key: written through under the new key.
    create(db, table, ["id"])
    new = {"id": s("d1")}
    dax.put_item(TableName=table, Item={**new, "text": s("first")})
    check(text(dax.get_item(TableName=table, Key=new)) == "first", "the item was not read back")  # cached
    dax.put_item(TableName=table, Item={**new, "text": s("second")})
    got = text(dax.get_item(TableName=table, Key=new))
    check(got == "second", f"the item cache kept {got!r} after a write-through")
    db.delete_table(TableName=table)


def unsigned_requests_are_dynamodbs_to_refuse(dax, db, table):
    key = {"PK": s("u1"), "SK": s("t")}
    dax.put_item(TableName=table, Item={**key, "text": s("x")})
    check(text(dax.get_item(TableName=table, Key=key)) == "x", "the item was not read back")  # cached
    direct = refused(
        lambda: client(db.meta.endpoint_url, signed=False).get_item(
            TableName=table, Key=key
        ),
        "MissingAuthenticationTokenException",
    )
    # Through DAX: the same refusal, not the cached item.
    refused(
        lambda: client(dax.meta.endpoint_url, signed=False).get_item(
            TableName=table, Key=key
        ),
        direct,
    )


def a_hit_says_what_it_consumed(dax, db, table):
    key = {"PK": s("c1"), "SK": s("t")}
    dax.put_item(TableName=table, Item={**key, "text": s("x")})
    dax.get_item(TableName=table, Key=key)  # cached
    for asked in ["TOTAL", "INDEXES"]:
        got = dax.get_item(TableName=table, Key=key, ReturnConsumedCapacity=asked)
        check(text(got) == "x", f"GetItem hit, {asked}: {got}")
        cc = got.get("ConsumedCapacity")
        check(cc and cc["TableName"] == table, f"GetItem hit, {asked}: {cc}")
        check(cc["CapacityUnits"] == 0, f"GetItem hit, {asked}: {cc}")
    got = dax.get_item(TableName=table, Key=key)
    check("ConsumedCapacity" not in got, f"not asked, given: {got}")
    got = dax.batch_get_item(
        RequestItems={table: {"Keys": [key]}}, ReturnConsumedCapacity="TOTAL"
    )
    check([i["text"]["S"] for i in got["Responses"][table]] == ["x"], f"{got}")
    cc = got.get("ConsumedCapacity")
    check(
        cc and [(c["TableName"], c["CapacityUnits"]) for c in cc] == [(table, 0)],
        f"BatchGetItem hit: {cc}",
    )
    query = dict(
        TableName=table,
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": s("c1")},
    )
    first = dax.query(**query, ReturnConsumedCapacity="TOTAL")  # a miss
    check(first.get("ConsumedCapacity", {}).get("CapacityUnits", 0) > 0, f"Query miss: {first}")
    hit = dax.query(**query)
    check("ConsumedCapacity" not in hit, f"not asked, given: {hit.get('ConsumedCapacity')}")
    hit = dax.query(**query, ReturnConsumedCapacity="TOTAL")
    check(hit.get("ConsumedCapacity", {}).get("CapacityUnits") == 0, f"Query hit: {hit}")


CASES = [
    batch_get_is_validated,
    partiql_is_refused_and_the_cache_stays_true,
    a_deleted_table_is_forgotten,
    unsigned_requests_are_dynamodbs_to_refuse,
    a_hit_says_what_it_consumed,
]


def main():
    dax_url, db_url = sys.argv[1], sys.argv[2]
    dax, db = client(dax_url), client(db_url)
    table = "boto3-cases-" + uuid.uuid4().hex[:8]
    create(db, table, ["PK", "SK"])
    failed = 0
    for case in CASES:
        started = time.monotonic()
        try:
            case(dax, db, table)
            print(f"ok   {case.__name__} ({time.monotonic() - started:.2f} s)")
        except Exception as e:  # every case runs, whatever one raised
            failed += 1
            print(f"FAIL {case.__name__}: {type(e).__name__}: {e}")
    print(f"boto3 {boto3.__version__}: {len(CASES) - failed} of {len(CASES)} cases passed")
    sys.exit(failed)


if __name__ == "__main__":
    main()
