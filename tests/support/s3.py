"""boto3 (AWS's own SDK) against the test's S3 server, for tests/s3_runs.rs:
the bucket is made, inputs uploaded and chicane's uploads read back with
the real client, not chicane's.

Usage: s3.py ENDPOINT COMMAND ARGS...
  user                      make an IAM user allowed s3:* and print its key
                            as JSON (the server's first 3 requests, before
                            it starts checking credentials)
  bucket NAME               create a bucket
  put BUCKET KEY FILE       upload a file
  get BUCKET KEY FILE       download an object to a file
  list BUCKET PREFIX        print [[key, size], ...] as JSON
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""
import json
import sys

import boto3

endpoint, command, *args = sys.argv[1:]
if command == "user":
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="setup", aws_secret_access_key="setup")
    iam.create_user(UserName="chicane")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="chicane", PolicyName="s3", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="chicane")["AccessKey"]
    print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
    sys.exit(0)
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
if command == "bucket":
    s3.create_bucket(Bucket=args[0])
elif command == "put":
    s3.upload_file(args[2], args[0], args[1])
elif command == "get":
    s3.download_file(args[0], args[1], args[2])
elif command == "list":
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=args[0], Prefix=args[1])
    print(json.dumps([[o["Key"], o["Size"]] for p in pages for o in p.get("Contents", [])]))
else:
    sys.exit(f"unknown command {command}")
