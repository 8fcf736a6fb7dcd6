import pytest

from engine import clock
from tests.engine_helpers import Harness


@pytest.fixture
def harness(database):
    clock.reset()
    yield Harness(database)
    clock.reset()
