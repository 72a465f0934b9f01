"""Generated identities stay unique across the parts of a split run."""

from dmsload.dms.data import RunData


def test_parts_with_one_run_id_never_share_an_identity() -> None:
    ids: set[str] = set()
    schools: set[int] = set()
    for worker in range(4):
        run = RunData.create(run_id="0badcafe", worker=worker, workers=4)
        for vu in (1, 2):
            generator = run.generator(vu)
            for _ in range(5):
                ids.add(generator.student()["studentUniqueId"])
                ids.add(generator.staff()["staffUniqueId"])
                schools.add(generator.school()["schoolId"])
    assert len(ids) == 4 * 2 * 5 * 2
    assert len(schools) == 4 * 2 * 5


def test_parts_draw_different_values_and_a_whole_run_draws_as_before() -> None:
    whole = RunData.create(seed=7, run_id="0badcafe").generator(1).student()
    again = RunData.create(seed=7, run_id="0badcafe").generator(1).student()
    assert whole == again
    first = RunData.create(seed=7, run_id="0badcafe", worker=0, workers=2).generator(1)
    second = RunData.create(seed=7, run_id="0badcafe", worker=1, workers=2).generator(1)
    draws = [first.rng.random() for _ in range(3)], [second.rng.random() for _ in range(3)]
    assert draws[0] != draws[1]
