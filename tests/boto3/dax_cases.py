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


def code(err):
    return err.response.get("Error", {}).get("Code", "")


def refused(call, *codes):
    """The error code of `call`, which must fail with one of `codes`."""
    try:
        call()
    except ClientError as e:
        assert code(e) in codes, f"refused with {code(e)}, expected {codes}"
        return code(e)
    raise AssertionError(f"answered; expected {codes}")


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
    assert text(dax.get_item(TableName=table, Key=key)) == "one"  # cached
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
    assert text(dax.get_item(TableName=table, Key=key)) == "before"  # cached
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
    assert (stored, cached) == ("before", "before"), (stored, cached)


def a_deleted_table_is_forgotten(dax, db, _table):
    table = "boto3-recreated-" + uuid.uuid4().hex[:8]
    create(db, table, ["PK", "SK"])
    key = {"PK": s("d1"), "SK": s("t")}
    dax.put_item(TableName=table, Item={**key, "text": s("old")})
    assert text(dax.get_item(TableName=table, Key=key)) == "old"  # cached
    dax.delete_table(TableName=table)
    refused(
        lambda: dax.get_item(TableName=table, Key=key), "ResourceNotFoundException"
    )
    # Re-created with another key: written through under the new key.
    create(db, table, ["id"])
    new = {"id": s("d1")}
    dax.put_item(TableName=table, Item={**new, "text": s("first")})
    assert text(dax.get_item(TableName=table, Key=new)) == "first"  # cached
    dax.put_item(TableName=table, Item={**new, "text": s("second")})
    got = text(dax.get_item(TableName=table, Key=new))
    assert got == "second", f"the item cache kept {got!r} after a write-through"
    db.delete_table(TableName=table)


def unsigned_requests_are_dynamodbs_to_refuse(dax, db, table):
    key = {"PK": s("u1"), "SK": s("t")}
    dax.put_item(TableName=table, Item={**key, "text": s("x")})
    assert text(dax.get_item(TableName=table, Key=key)) == "x"  # cached
    direct = refused(
        lambda: client(db.meta.endpoint_url, signed=False).get_item(
            TableName=table, Key=key
        ),
        "MissingAuthenticationTokenException",
    )
    through = refused(
        lambda: client(dax.meta.endpoint_url, signed=False).get_item(
            TableName=table, Key=key
        ),
        direct,
    )
    assert through == direct


def a_hit_says_what_it_consumed(dax, db, table):
    key = {"PK": s("c1"), "SK": s("t")}
    dax.put_item(TableName=table, Item={**key, "text": s("x")})
    dax.get_item(TableName=table, Key=key)  # cached
    for asked in ["TOTAL", "INDEXES"]:
        got = dax.get_item(TableName=table, Key=key, ReturnConsumedCapacity=asked)
        assert text(got) == "x"
        cc = got.get("ConsumedCapacity")
        assert cc and cc["TableName"] == table, f"GetItem hit, {asked}: {cc}"
        assert cc["CapacityUnits"] == 0, cc
    assert "ConsumedCapacity" not in dax.get_item(TableName=table, Key=key)
    got = dax.batch_get_item(
        RequestItems={table: {"Keys": [key]}}, ReturnConsumedCapacity="TOTAL"
    )
    assert [i["text"]["S"] for i in got["Responses"][table]] == ["x"]
    cc = got.get("ConsumedCapacity")
    assert cc and [c["TableName"] for c in cc] == [table], f"BatchGetItem hit: {cc}"
    query = dict(
        TableName=table,
        KeyConditionExpression="PK = :p",
        ExpressionAttributeValues={":p": s("c1")},
    )
    first = dax.query(**query, ReturnConsumedCapacity="TOTAL")  # a miss
    assert first["ConsumedCapacity"]["CapacityUnits"] > 0, first["ConsumedCapacity"]
    hit = dax.query(**query)
    assert "ConsumedCapacity" not in hit, f"not asked, given: {hit['ConsumedCapacity']}"
    hit = dax.query(**query, ReturnConsumedCapacity="TOTAL")
    assert hit["ConsumedCapacity"]["CapacityUnits"] == 0, hit["ConsumedCapacity"]


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
