"""engine.notify.TaskAvailability: who is woken, in which order, how many."""

from __future__ import annotations

from engine.notify import TaskAvailability, Waiter


def _waiters(availability: TaskAvailability, *topic_sets: set[str]) -> tuple[list, list[Waiter]]:
    woken: list[int] = []
    waiters = [availability.add(Waiter(topics, lambda i=i: woken.append(i)))
               for i, topics in enumerate(topic_sets)]
    return woken, waiters


def test_wakes_only_as_many_waiters_as_there_are_new_tasks_oldest_first():
    availability = TaskAvailability()
    woken, _ = _waiters(availability, {"a"}, {"a"}, {"a"})
    assert availability.publish({"a": 2}) == 2
    assert woken == [0, 1]
    assert availability.waiting() == 1


def test_waiters_of_other_topics_sleep_on():
    availability = TaskAvailability()
    woken, _ = _waiters(availability, {"b"}, {"a", "c"}, {"a"})
    availability.publish(["a"])
    assert woken == [1]
    availability.publish({"c": 5, "b": 1})
    assert woken == [1, 0]
    assert availability.topics() == {"a"}


def test_a_waiter_that_claimed_nothing_goes_to_the_back_of_the_queue():
    availability = TaskAvailability()
    woken, waiters = _waiters(availability, {"a"}, {"a"})
    availability.publish({"a": 1})
    availability.add(waiters[0])  # woken, found nothing (another poll was faster), waits again
    availability.publish({"a": 1})
    assert woken == [0, 1]
    assert not waiters[0].woken and waiters[1].woken


def test_removed_waiters_are_not_woken_and_wake_all_wakes_the_rest():
    availability = TaskAvailability()
    woken, waiters = _waiters(availability, {"a"}, {"b"}, {"c"})
    availability.remove(waiters[1])
    availability.wake_all()
    assert woken == [0, 2]
    assert availability.waiting() == 0 and availability.publish({"a": 1}) == 0


def test_a_failing_wake_does_not_stop_the_others():
    availability = TaskAvailability()
    woken: list[str] = []

    def broken() -> None:
        raise RuntimeError("event loop closed")

    availability.add(Waiter({"a"}, broken))
    availability.add(Waiter({"a"}, lambda: woken.append("second")))
    assert availability.publish({"a": 2}) == 2
    assert woken == ["second"]
