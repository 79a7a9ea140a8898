"""The batched Kalman filter's closed forms agree with the textbook matrix products."""

from __future__ import annotations

import numpy as np

from tracker.config import MotionConfig
from tracker.kalman import KalmanFilter


def _random_state(t: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mean = np.concatenate([rng.uniform(50, 500, (t, 4)), rng.normal(size=(t, 4))], axis=1)
    root = rng.normal(size=(t, 8, 8))
    return mean, root @ root.transpose(0, 2, 1) + np.eye(8)


def _replayed_one_track_at_a_time(kf, mean, cov, start, end, gaps, noise=None):
    """What `KalmanFilter.replay` must give, by the per-track loop it stands for: for each of the T tracks, (1, 8)
    mean and (1, 8, 8) covariance after predict and update on each virtual observation of its gap (on the line from
    its `start` to its `end` xywh) and a final predict."""
    for i, gap in enumerate(gaps):
        m, c = mean[i : i + 1], cov[i : i + 1]
        for k in range(1, gap):
            m, c = kf.predict(m, c)
            m, c = kf.update(m, c, (start[i] + (end[i] - start[i]) * k / gap)[None], noise=noise)
        yield kf.predict(m, c)


def test_predict_equals_f_p_ft_plus_q():
    kf = KalmanFilter(MotionConfig())
    mean, cov = _random_state(7)
    f = np.eye(8)
    f[:4, 4:] = np.eye(4)
    wh = mean[:, 2:4]
    scale = np.concatenate([wh, wh], axis=1)
    q = np.concatenate([kf.config.std_position * scale, kf.config.std_velocity * scale], axis=1) ** 2
    new_mean, new_cov = kf.predict(mean, cov)
    np.testing.assert_allclose(new_mean, mean @ f.T)
    np.testing.assert_allclose(new_cov, f @ cov @ f.T + np.stack([np.diag(v) for v in q]), rtol=1e-12)
    np.testing.assert_array_equal(cov, _random_state(7)[1])  # inputs untouched


def test_project_adds_measurement_noise_to_the_position_block_only():
    kf = KalmanFilter(MotionConfig())
    mean, cov = _random_state(3, seed=1)
    projected, s = kf.project(mean, cov)
    wh = mean[:, 2:4]
    r = (kf.config.std_position * np.concatenate([wh, wh], axis=1)) ** 2
    np.testing.assert_allclose(s, cov[:, :4, :4] + np.stack([np.diag(v) for v in r]))
    np.testing.assert_array_equal(projected, mean[:, :4])
    np.testing.assert_array_equal(cov, _random_state(3, seed=1)[1])


def test_in_place_steps_write_the_returned_states_into_their_inputs_bit_for_bit():
    """The core predicts its own state arrays in place and corrects the matched rows' copies in place: the same
    bits as `predict` / `update`, which leave their inputs alone; the noises (std x box size, squared) are those of
    the textbook formula exactly, at any frame rate."""
    for ratio in (1.0, 0.4, 2.5):
        kf = KalmanFilter(MotionConfig(), step_ratio=ratio)
        mean, cov = _random_state(9, seed=4)
        want_mean, want_cov = kf.predict(mean, cov)
        kf.predict_in_place(mean, cov)
        np.testing.assert_array_equal(mean, want_mean)
        np.testing.assert_array_equal(cov, want_cov)
        start = _random_state(9, seed=4)[0]
        wh = start[:, 2:4]
        scale = np.concatenate([wh, wh], axis=1)
        noise = (kf.config.std_position * ratio**0.5, kf.config.std_velocity * ratio**1.5)
        q = np.concatenate([noise[0] * scale, noise[1] * scale], axis=1) ** 2
        _, grown = kf.predict(start, np.zeros((9, 8, 8)))  # from no uncertainty, a step adds exactly Q
        np.testing.assert_array_equal(np.diagonal(grown, 0, 1, 2), q)
        r = (kf.config.std_position * scale) ** 2
        np.testing.assert_array_equal(np.diagonal(kf.project(start, np.zeros((9, 8, 8)))[1], 0, 1, 2), r)
        z = mean[:, :4] + 3.0
        scores = np.linspace(0.2, 0.95, 9)
        want_mean, want_cov = kf.update(mean, cov, z, scores)
        kf.update_in_place(mean, cov, z, scores)
        np.testing.assert_array_equal(mean, want_mean)
        np.testing.assert_array_equal(cov, want_cov)


def test_replay_equals_one_track_at_a_time_bit_for_bit():
    """OC-SORT's re-update of several tracks at once (gaps of 2 to 9 frames, one of 1: nothing to replay but the
    final predict) gives exactly the per-track loop of predict and update on virtual observations."""
    kf = KalmanFilter(MotionConfig(), step_ratio=25 / 30)
    mean, cov = _random_state(5, seed=3)
    rng = np.random.default_rng(4)
    start = mean[:, :4] + rng.normal(size=(5, 4))
    end = start + rng.normal(scale=20.0, size=(5, 4))
    gaps = np.array([3, 9, 1, 2, 9])
    inputs = (mean.copy(), cov.copy())
    got_mean, got_cov = kf.replay(mean, cov, start, end, gaps)
    for i, (m, c) in enumerate(_replayed_one_track_at_a_time(kf, mean, cov, start, end, gaps)):
        np.testing.assert_array_equal(got_mean[i], m[0])
        np.testing.assert_array_equal(got_cov[i], c[0])
    np.testing.assert_array_equal(mean, inputs[0])  # inputs untouched
    np.testing.assert_array_equal(cov, inputs[1])


def test_gate_is_the_mahalanobis_test_on_every_pair():
    """`gate` skips the pairs its centre-gap bound rules out; it must give the full (T, N) test's answer, including
    pairs that sit right at the chi-square threshold and boxes far apart in one axis only."""
    kf = KalmanFilter(MotionConfig())
    rng = np.random.default_rng(3)
    for trial in range(30):
        t, n = int(rng.integers(1, 80)), int(rng.integers(1, 80))
        mean, cov = kf.initiate(np.c_[rng.uniform(0, 1920, (t, 2)), rng.uniform(0.3, 0.6, t), rng.uniform(40, 300, t)])
        for _ in range(trial % 4):
            mean, cov = kf.predict(mean, cov)
        dets = np.c_[rng.uniform(0, 1920, (n, 2)), rng.uniform(0.3, 0.6, n), rng.uniform(40, 300, n)]
        near = min(t, n)
        dets[:near] = mean[:near, :4] + rng.normal(0, 1, (near, 4)) * [20, 20, 0.02, 10]
        dets[near // 2 : near, 1] = mean[near // 2 : near, 1]  # same row, any column gap: y alone cannot rule out
        distance = kf.gating_distance(mean, cov, dets)
        for chi2 in (9.4877, float(np.median(distance[:near, :near].diagonal())), 0.5):
            np.testing.assert_array_equal(kf.gate(mean, cov, dets, chi2), distance <= chi2)
    assert kf.gate(mean[:0], cov[:0], dets, 9.4877).shape == (0, len(dets))


def _textbook_update(kf: KalmanFilter, mean: np.ndarray, cov: np.ndarray, measured: np.ndarray):
    """The Kalman correction with LAPACK's solve on every S, diagonal or not."""
    projected, s = kf.project(mean, cov)
    gain = np.linalg.solve(s, cov[:, :, :4].transpose(0, 2, 1)).transpose(0, 2, 1)
    new_mean = mean + np.einsum("tij,tj->ti", gain, measured - projected)
    return new_mean, cov - gain @ s @ gain.transpose(0, 2, 1)


def test_diagonal_innovation_covariances_take_the_reciprocal_and_give_lapacks_values():
    """Without camera motion S stays diagonal (x, y, w, h never couple), and the update and the gate use its
    reciprocal diagonal instead of one LAPACK call per track: the same states and distances as np.linalg's solve and
    inverse (to the last bits on this BLAS; a few ulps allowed elsewhere)."""
    from tracker.kalman import _diagonal_or_none

    kf = KalmanFilter(MotionConfig())
    rng = np.random.default_rng(4)
    boxes = np.c_[rng.uniform(0, 1920, (40, 2)), rng.uniform(0.3, 0.6, 40), rng.uniform(40, 300, 40)]
    mean, cov = kf.initiate(boxes)
    for _ in range(5):
        mean, cov = kf.predict(mean, cov)
        assert _diagonal_or_none(kf.project(mean, cov)[1]) is not None
        measured = mean[:, :4] + rng.normal(0, 2, (40, 4)) * [1, 1, 0.01, 1]
        expected = _textbook_update(kf, mean, cov, measured)
        mean, cov = kf.update(mean, cov, measured)
        np.testing.assert_allclose(mean, expected[0], rtol=1e-15, atol=0)
        np.testing.assert_allclose(cov, expected[1], rtol=1e-15, atol=1e-15)
    dets = mean[:, :4] + rng.normal(0, 5, (40, 4)) * [1, 1, 0.01, 1]
    projected, s = kf.project(mean, cov)
    diff = dets[None, :, :] - projected[:, None, :]
    lapack = np.einsum("tnj,tnj->tn", diff @ np.linalg.inv(s), diff)
    np.testing.assert_allclose(kf.gating_distance(mean, cov, dets), lapack, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(kf.gate(mean, cov, dets, 9.4877), lapack <= 9.4877)


def test_coupled_innovation_covariances_are_solved_in_full():
    """A camera motion that rotates the view couples x and y: such an S is not diagonal and the update and the gate
    solve it in full (a reciprocal diagonal would ignore the coupling and give other gains and distances)."""
    from tracker.camera_motion import warp_states
    from tracker.kalman import _diagonal_or_none

    kf = KalmanFilter(MotionConfig())
    rng = np.random.default_rng(5)
    mean, cov = kf.initiate(np.c_[rng.uniform(0, 1920, (30, 2)), rng.uniform(0.3, 0.6, 30), rng.uniform(40, 300, 30)])
    angle = 0.2
    rotation = np.array([[np.cos(angle), -np.sin(angle), 30.0], [np.sin(angle), np.cos(angle), -12.0]])
    mean, cov = warp_states(*kf.predict(mean, cov), rotation)
    s = kf.project(mean, cov)[1]
    assert _diagonal_or_none(s) is None and np.abs(s[:, 0, 1]).min() > 1e-3
    measured = mean[:, :4] + rng.normal(0, 2, (30, 4)) * [1, 1, 0.01, 1]
    expected = _textbook_update(kf, mean, cov, measured)
    updated = kf.update(mean, cov, measured)
    np.testing.assert_array_equal(updated[0], expected[0])
    np.testing.assert_array_equal(updated[1], expected[1])
    diff = measured[None, :, :] - mean[:, None, :4]
    lapack = np.einsum("tnj,tnj->tn", diff @ np.linalg.inv(s), diff)
    np.testing.assert_array_equal(kf.gating_distance(mean, cov, measured), lapack)


def test_the_width_factors_scale_only_the_widths_noises_and_smooth_a_jittering_width():
    """`motion.width_process_factor` scales the process noise std of the width and its rate, and
    `motion.width_measurement_factor` the width's measurement noise std; the other coordinates keep theirs. A box
    whose width alternates by 4 px around 40 is reported with a steadier width either way."""
    base = KalmanFilter(MotionConfig())
    smooth_q = KalmanFilter(MotionConfig(width_process_factor=0.5))
    smooth_r = KalmanFilter(MotionConfig(width_measurement_factor=3.0))
    mean, cov = _random_state(2, seed=3)
    no_cov = np.zeros_like(cov)  # F 0 F^T + Q: the process noise alone
    ratio = smooth_q.predict(mean, no_cov)[1].diagonal(0, 1, 2) / base.predict(mean, no_cov)[1].diagonal(0, 1, 2)
    np.testing.assert_allclose(ratio[:, [2, 6]], 0.25)
    np.testing.assert_allclose(ratio[:, [0, 1, 3, 4, 5, 7]], 1.0)
    r_base = base.project(mean, cov)[1] - cov[:, :4, :4]
    r_three = smooth_r.project(mean, cov)[1] - cov[:, :4, :4]
    np.testing.assert_allclose(r_three.diagonal(0, 1, 2) / r_base.diagonal(0, 1, 2), [[1, 1, 9, 1]] * 2)

    def width_spread(kf: KalmanFilter) -> float:
        m, c = kf.initiate(np.array([[100.0, 100.0, 40.0, 100.0]]))
        widths = []
        for k in range(60):
            m, c = kf.predict(m, c)
            m, c = kf.update(m, c, np.array([[100.0, 100.0, 40.0 + (2.0 if k % 2 else -2.0), 100.0]]))
            widths.append(m[0, 2])
        return float(np.std(widths[20:]))

    assert width_spread(smooth_q) < width_spread(base) and width_spread(smooth_r) < width_spread(base)


def test_the_gates_diagonals_give_the_update_its_projection_bit_for_bit():
    """`gate_and_diagonal` hands back the diagonal innovation covariances it gated with; the matched update given
    their rows (`diagonal`) skips its own projection and gives the same states, innovations and variances bit for
    bit (the core's matched update reuses them). With coupled covariances it hands back None (the update solves)."""
    from tracker.camera_motion import warp_states

    kf = KalmanFilter(MotionConfig())
    rng = np.random.default_rng(6)
    mean, cov = kf.predict(
        *kf.initiate(np.c_[rng.uniform(0, 1920, (30, 2)), rng.uniform(0.3, 0.6, 30), rng.uniform(40, 300, 30)])
    )
    dets = mean[:, :4] + rng.normal(0, 3, (30, 4)) * [1, 1, 0.01, 1]
    noise = np.array([1.0, 1.5, 1.0, 2.0])
    passed, diagonal = kf.gate_and_diagonal(mean, cov, dets, 9.4877, noise)
    np.testing.assert_array_equal(passed, kf.gate(mean, cov, dets, 9.4877, noise))
    assert diagonal is not None
    rows = np.array([4, 0, 17, 9, 28])
    plain_mean, plain_cov = mean[rows], cov[rows]
    reused_mean, reused_cov = mean[rows], cov[rows]
    plain = kf.update_in_place(plain_mean, plain_cov, dets[rows], None, noise)
    reused = kf.update_in_place(reused_mean, reused_cov, dets[rows], None, noise, diagonal.take(rows, axis=0))
    for a, b in [(plain_mean, reused_mean), (plain_cov, reused_cov), (plain[0], reused[0]), (plain[1], reused[1])]:
        assert np.array_equal(a.view(np.int64), b.view(np.int64))  # the same bits, signed zeros included
    rotation = np.array([[np.cos(0.2), -np.sin(0.2), 30.0], [np.sin(0.2), np.cos(0.2), -12.0]])
    warped = warp_states(mean, cov, rotation)
    passed, diagonal = kf.gate_and_diagonal(*warped, dets, 9.4877)
    assert diagonal is None
    np.testing.assert_array_equal(passed, kf.gate(*warped, dets, 9.4877))
    assert kf.gate_and_diagonal(mean, cov, dets[:0], 9.4877)[1] is None  # no detections: nothing projected


def _blockwise_state(t: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """States as the tracker holds them without camera motion: each coordinate coupled with its own velocity only."""
    rng = np.random.default_rng(seed)
    kf = KalmanFilter(MotionConfig())
    mean, cov = kf.initiate(np.c_[rng.uniform(50, 500, (t, 2)), rng.uniform(20, 80, t), rng.uniform(60, 200, t)])
    for _ in range(3):
        mean, cov = kf.predict(mean, cov)
        mean, cov = kf.update(mean, cov, mean[:, :4] + rng.normal(scale=3.0, size=(t, 4)))
    mean[:, 4:] = rng.normal(size=(t, 4))
    return mean, cov


def test_replay_one_coordinate_at_a_time_gives_the_matrix_replay_bits():
    """`replay` of states whose covariances couple each coordinate with its own velocity only (every state without
    camera motion) steps each track and coordinate on Python floats: the bits of the per-track loop of the matrix
    predict and update, at any frame rate, with a measured noise and width factors; one warped (coupled) covariance
    or a non-finite value sends the whole batch back to the matrix steps, with the same bits as before."""
    rng = np.random.default_rng(8)
    for ratio, factor, noise in ((1.0, 1.0, None), (25 / 30, 3.0, np.array([1.5, 0.7, 4.0, 2.0])), (2.0, 0.5, None)):
        config = MotionConfig(width_measurement_factor=factor, width_process_factor=1 / factor)
        kf = KalmanFilter(config, step_ratio=ratio)
        mean, cov = _blockwise_state(6, seed=int(ratio * 10))
        start = mean[:, :4] + rng.normal(size=(6, 4))
        end = start + rng.normal(scale=20.0, size=(6, 4))
        gaps = np.array([3, 40, 1, 2, 9, 0])
        for warped in (False, True):
            if warped:  # a rotation's coupling of x and y in one track
                cov[1, 0, 1] = cov[1, 1, 0] = 0.25
            inputs = (mean.copy(), cov.copy())
            got_mean, got_cov = kf.replay(mean, cov, start, end, gaps, noise)
            for i, (m, c) in enumerate(_replayed_one_track_at_a_time(kf, mean, cov, start, end, gaps, noise)):
                np.testing.assert_array_equal(got_mean[i], m[0])
                np.testing.assert_array_equal(got_cov[i], c[0])
            np.testing.assert_array_equal(mean, inputs[0])  # inputs untouched
            np.testing.assert_array_equal(cov, inputs[1])


def test_box_conversions_give_the_textbook_formulas_bits():
    """`xywh_to_xyxy` and `xyxy_to_xywh` take the columns contiguous before any arithmetic (docs/speed-log.md, stop 69):
    the corners are still centre -/+ size / 2 and the centre corner + size / 2, bit for bit, signed zeros, infinities
    and subnormals included (NaN where the formula gives NaN)."""
    from tracker.kalman import xywh_to_xyxy, xyxy_to_xywh

    rng = np.random.default_rng(9)
    special = np.array([0.0, -0.0, 5e-324, -5e-324, 1e308, -1e308, np.inf, -np.inf, np.nan, 3.0, -7.5])
    boxes = np.concatenate([rng.choice(special, (400, 4)), rng.normal(0, 1e3, (100, 4))])

    def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
        nan = np.isnan(a)
        return bool(np.array_equal(nan, np.isnan(b)) and np.array_equal(a[~nan].view(np.int64), b[~nan].view(np.int64)))

    with np.errstate(all="ignore"):
        half = boxes[:, 2:] / 2
        corners = np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1)
        size = boxes[:, 2:] - boxes[:, :2]
        centres = np.concatenate([boxes[:, :2] + size / 2, size], axis=1)
        assert same_bits(xywh_to_xyxy(boxes), corners)
        assert same_bits(xyxy_to_xywh(boxes), centres)
        assert same_bits(xywh_to_xyxy(np.concatenate([boxes, boxes], axis=1)[:, :4]), corners)  # a column view in


def test_the_gates_diagonal_is_the_projections_diagonal_in_a_contiguous_array():
    """The (T, 4) diagonal `gate_and_diagonal` hands back (and gates with) is S = H P H^T + R's diagonal from `project`,
    bit for bit, read from P without building S, in a C-contiguous array: the update's ufuncs on its rows take numpy's
    contiguous path. A covariance coupling two measured coordinates gives None; one coupling a coordinate with another's
    velocity alone (outside the measured block) leaves S diagonal."""
    kf = KalmanFilter(MotionConfig())
    rng = np.random.default_rng(11)
    mean, cov = kf.predict(
        *kf.initiate(np.c_[rng.uniform(0, 1920, (20, 2)), rng.uniform(30, 90, 20), rng.uniform(60, 300, 20)])
    )
    dets = mean[:, :4] + rng.normal(0, 2, (20, 4))
    noise = np.array([1.0, 1.25, 1.5, 2.0])
    diagonal = kf.gate_and_diagonal(mean, cov, dets, 9.4877, noise)[1]
    assert diagonal is not None and diagonal.flags.c_contiguous
    expected = kf.project(mean, cov, noise=noise)[1].diagonal(0, 1, 2)
    assert np.array_equal(diagonal.view(np.int64), expected.view(np.int64))
    for (i, j), diagonal_s in [((1, 2), False), ((3, 0), False), ((0, 5), True), ((6, 2), True)]:
        coupled = cov.copy()
        coupled[7, i, j] = 0.5
        assert (kf.gate_and_diagonal(mean, coupled, dets, 9.4877, noise)[1] is not None) is diagonal_s, (i, j)
