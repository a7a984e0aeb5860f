# The suite the end-to-end test runs: with DITTO_TEST_SHARED=1 every test
# gets the one session copy, as if the tests shared a database.
import os

import pytest

if os.environ.get("DITTO_TEST_SHARED") == "1":

    @pytest.fixture
    def ditto_url(ditto_session_url):
        return ditto_session_url
