"""The local cloud's thread-safety fix to moto (localcloud/motopatch.py): a response that changes
which keys the answers show replaces its class's transformer table, so a serializer iterating the
table in another thread never sees it grow (moto's own code grew it in place, and the server
answered 500, "dictionary changed size during iteration")."""

from __future__ import annotations

from moto.core.serialize import never_return
from moto.ec2.responses import EC2Response

from localcloud import motopatch


def test_a_new_transformer_goes_into_a_copy_of_the_table():
    motopatch.install_response_transformers()
    held = EC2Response.RESPONSE_KEY_PATH_TO_TRANSFORMER  # as a serializer in another thread holds it
    before = dict(held)
    path = "DescribeKeyPairsResult.KeyPairs.KeyPairInfo.PublicKeyOfThisTest"

    EC2Response()._exclude_from_response(path)

    assert held == before  # unchanged while it may be iterated
    assert EC2Response.RESPONSE_KEY_PATH_TO_TRANSFORMER[path] is never_return
    EC2Response()._include_in_response(path)
    assert EC2Response.RESPONSE_KEY_PATH_TO_TRANSFORMER[path]("key") == "key"
    table = EC2Response.RESPONSE_KEY_PATH_TO_TRANSFORMER
    EC2Response()._include_in_response(path)
    assert EC2Response.RESPONSE_KEY_PATH_TO_TRANSFORMER is table  # nothing new to set: no copy
