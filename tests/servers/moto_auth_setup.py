#!/usr/bin/env python3
# Turns a fresh moto_server started with INITIAL_NO_AUTH_ACTION_COUNT=3 into a server that
# checks SigV4: the three unauthenticated calls create an IAM user, give it an allow-all inline
# policy and make it an access key; every later call must be signed with that key.
#   moto_auth_setup.py ENDPOINT BUCKET...   prints "ACCESS_KEY_ID SECRET_ACCESS_KEY"
# The buckets are then created with the new key, which also proves that signing works.
import json
import os
import sys

import boto3
from botocore.config import Config

# Plain-HTTP loopback: the machine's CA bundle is of no use here and some clients choke on it.
os.environ.pop("AWS_CA_BUNDLE", None)

REGION = "us-east-1"
USER = "lakepack-test"
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: moto_auth_setup.py ENDPOINT [BUCKET...]", file=sys.stderr)
        return 2
    endpoint, buckets = sys.argv[1], sys.argv[2:]
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})
    # Any key passes while the server still counts unauthenticated actions.
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap",
                       config=cfg)
    iam.create_user(UserName=USER)                                   # unauthenticated call 1
    iam.put_user_policy(UserName=USER, PolicyName="allow-all",       # unauthenticated call 2
                        PolicyDocument=json.dumps(ALLOW_ALL))
    key = iam.create_access_key(UserName=USER)["AccessKey"]          # unauthenticated call 3
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                      aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"], config=cfg)
    for bucket in buckets:
        s3.create_bucket(Bucket=bucket)
    # The check is really on: a wrong secret must now be refused.
    bad = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id=key["AccessKeyId"],
                       aws_secret_access_key="wrong-" + key["SecretAccessKey"], config=cfg)
    try:
        bad.list_buckets()
    except bad.exceptions.ClientError as e:
        if e.response["Error"]["Code"] != "SignatureDoesNotMatch":
            print(f"unexpected error for a wrong secret: {e}", file=sys.stderr)
            return 1
    else:
        print("moto accepted a wrong secret: signature checking is off", file=sys.stderr)
        return 1
    print(key["AccessKeyId"], key["SecretAccessKey"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
