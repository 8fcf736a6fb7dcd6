import pytest

from engine import clock
from tests.support.engine import Harness


@pytest.fixture
def harness(database):
    clock.reset()
    yield Harness(database)
    clock.reset()
