"""template.yaml as the CloudFormation that SAM deploys, translated offline by the SAM translator
(samtranslator, from the SAM CLI in .venv), with no AWS credentials and no call to AWS.

scripts/check-template lints the result with cfn-lint; scripts/check-iam evaluates the IAM roles
in it. Run it with .venv's python: `.venv/bin/python scripts/sam_translate.py template.yaml`
prints the translated template as JSON.
"""

import json
import os
import sys


def translate(path):
    """The translated template, as a dict. Local CodeUri folders only become S3 locations at
    `sam package`, so a placeholder stands in for them."""
    # Nothing is called in AWS, but the translator needs a region to resolve the partition.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = f"s3://placeholder-bucket/{name}.zip"
    return transform(template, {}, None)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sam_translate.py TEMPLATE")
    json.dump(translate(sys.argv[1]), sys.stdout, indent=1)
    sys.stdout.write("\n")
