"""The reproduction command line: usage errors, outputs, metrics schema."""

import json
import subprocess
import sys
from importlib import import_module

import pytest

from core.cli import REGIME_EXPERIMENTS, _out_dir, build_parser, main
from core.protocols import EXPERIMENTS
from core.protocols.common import METRICS_SCHEMA, validate_metrics


@pytest.mark.parametrize("argv", [[], ["reproduce"], ["reproduce", "fig9"],
                                  ["reproduce", "theory", "--seed", "-3"],
                                  ["reproduce", "theory", "--seed", "x"], ["frobnicate"]])
def test_bad_arguments_exit_with_usage_error_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_module_entry_point_reports_usage_errors():
    completed = subprocess.run([sys.executable, "-m", "core", "reproduce", "nope"],
                               capture_output=True, text=True)
    assert completed.returncode == 2
    assert "invalid choice: 'nope'" in completed.stderr


def test_validate_metrics_rejects_missing_extra_and_non_finite():
    good = {key: None for key in METRICS_SCHEMA}
    validate_metrics(good)
    with pytest.raises(ValueError, match="missing \\['seed'\\]"):
        validate_metrics({k: v for k, v in good.items() if k != "seed"})
    with pytest.raises(ValueError, match="unexpected \\['loss'\\]"):
        validate_metrics({**good, "loss": 1.0})
    with pytest.raises(ValueError, match="metrics.baselines.mlp is nan"):
        validate_metrics({**good, "baselines": {"mlp": float("nan")}})


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """Run ``reproduce EXPERIMENT --quick`` once per test session; return its output folder."""
    folders = {}

    def run(experiment):
        if experiment not in folders:
            out = tmp_path_factory.mktemp(f"quick-{experiment}")
            assert main(["reproduce", experiment, "--quick", "--out", str(out),
                         "--no-progress"]) == 0
            folders[experiment] = out
        return folders[experiment]

    return run


@pytest.fixture(scope="session")
def quick_metrics(quick_run):
    return lambda experiment: json.loads((quick_run(experiment) / "metrics.json").read_text())


@pytest.mark.parametrize("experiment", sorted(EXPERIMENTS))
def test_quick_run_writes_valid_metrics_and_a_standalone_figure(experiment, quick_run):
    out = quick_run(experiment)
    metrics = json.loads((out / "metrics.json").read_text())
    validate_metrics(metrics)
    assert metrics["experiment"] == experiment and metrics["quick"] is True
    html = (out / "figure.html").read_text()
    assert "<html" in html.lower() and "bokeh" in html.lower()


def test_theory_angles_shrink_with_feedback_and_fall_below_5_degrees(quick_metrics):
    """Seeds 0-9 measured 2026-12-04: each transposed layer's angle falls by >= 0.21 deg per
    step; at the weakest feedback 0.21-0.43 deg (threshold 5); random top-down weights leave
    layer 1 at 63.2-107.1 deg (threshold 20; seed 0: 92.0)."""
    angles = quick_metrics("theory")["angles_deg"]
    for layer, values in angles["transpose"].items():
        assert all(a > b for a, b in zip(values, values[1:])), layer
        assert values[-1] < 5.0
    assert angles["transpose_at_weakest_feedback_max"] < 5.0
    # random top-down weights: the hidden layer is not trained by backprop's error
    assert angles["random"]["layer1"][-1] > 20.0


def test_self_prediction_silences_apical_dendrites_and_interneurons_track_the_next_layer(
        quick_metrics):
    """Seeds 0-9 measured 2026-12-04: apical energy down 3,522x (seed 4) to 10,350x (threshold
    100x), interneuron mismatch down 300x (seed 5) to 1,299x (threshold 100x), W^PI 10.1 (seed 1)
    to 28.7 deg (seed 6) from the self-predicting weights (threshold 35)."""
    metrics = quick_metrics("self-prediction")
    assert metrics["apical_sq_before"] / metrics["apical_sq_after"] >= 100
    assert metrics["measurements"]["interneuron_mismatch_reduction"] >= 100
    # toward the self-predicting weights (a random start is ~90 deg away): measured 10-29 deg
    # over seeds 0-9 (12.4 for seed 0); only the directions the interneuron rates span are
    # constrained, so the angle need not reach 0 while the apical potentials fall silent
    assert metrics["angles_deg"]["W_PI1_vs_self_predicting"] < 35


def test_fig2_learns_and_computes_its_baselines(quick_metrics):
    """Seeds 0-9 measured 2026-12-04 (threshold in brackets): final / initial error 0.057-0.156
    (0.7); both shallow learners learn (drop 0.27-1.13 and 0.33-1.98); backprop and feedback
    alignment end at 0.071-0.199 and 0.059-0.175 of the MLP's initial error (0.5); micro /
    shallow 0.089-0.226 (0.5), micro / shallow with lateral plasticity 0.163-0.306 (0.5), micro /
    backprop 0.78-1.06 (2); forward-feedback angle 84.8-97.2 -> 45.2-52.0 deg (65), turned by
    33.5-48.8 deg (20)."""
    metrics = quick_metrics("fig2")
    assert metrics["final_error"] <= 0.7 * metrics["initial_error"]
    baselines = metrics["baselines"]
    assert baselines["shallow"] < baselines["shallow_initial"]  # the paper's: output weights only
    assert baselines["shallow_lateral_plastic"] < baselines["shallow_lateral_plastic_initial"]
    assert baselines["backprop_mlp"] < 0.5 * baselines["backprop_mlp_initial"]
    assert baselines["feedback_alignment_mlp"] < 0.5 * baselines["backprop_mlp_initial"]
    # the hidden layer learns: measured micro / shallow = 0.19, 0.13, 0.19 for seeds 0, 1, 2
    # (the paper's shallow learner), 0.24, 0.23, 0.23 against the one with lateral plasticity
    assert metrics["final_error"] <= 0.5 * baselines["shallow"]
    assert metrics["final_error"] <= 0.5 * baselines["shallow_lateral_plastic"]
    # and about as well as backprop on the same 3000 patterns (measured 0.86, 1.06, 0.88)
    assert metrics["final_error"] <= 2.0 * baselines["backprop_mlp"]
    # feedback alignment: the output weights turn towards the transposed top-down weights
    # (measured from 97, 85, 90 degrees to 52, 51, 47; paper: about 45)
    angles = metrics["angles_deg"]
    assert angles["output_weights_vs_top_down_transposed"] < 65
    assert angles["output_weights_vs_top_down_transposed"] \
        < angles["output_weights_vs_top_down_transposed_initial"] - 20
    history = metrics["measurements"]["history"]
    assert len(history["angle_deg"]) == len(history["patterns"]) == 16


def test_fig1_apical_error_appears_with_the_target_and_is_learned_away(quick_metrics):
    """Seeds 0-9 measured 2026-12-04: apical energy at the target's onset 9.9x (seed 6) to 20.6x
    the silent one (threshold 3x) and 6.9x (seed 1) to 13.6x the final one (threshold 3x); final
    / initial error 0.012-0.078 (threshold 0.3)."""
    metrics = quick_metrics("fig1")
    onset = metrics["measurements"]["apical_sq_at_target_onset"]
    assert onset > 3 * metrics["apical_sq_before"]
    assert metrics["apical_sq_after"] < onset / 3
    assert metrics["final_error"] < 0.3 * metrics["initial_error"]


def test_classification_learns_near_backprop_and_beats_the_single_layer_learner(quick_metrics):
    metrics = quick_metrics("classification")
    baselines = metrics["baselines"]
    # seeds 0-9 measured 2026-12-04: before learning 87.9-94.6 %, microcircuit 10.8-16.2 %, MLP
    # 9.4-12.1 %, single layer 17.2-27.3 %, W^PP_21 frozen 10.8-14.5 %; single layer minus
    # microcircuit 5.1-15.2 points (seed 1: 5.1), microcircuit minus MLP 0.7-4.0 points (seed 8:
    # 4.0, the closest to its bound of 5), single layer minus frozen 4.0-14.8 points
    assert metrics["initial_error"] > 80  # chance level before learning
    assert metrics["final_error"] < 20
    assert metrics["final_error"] < baselines["single_layer"] - 2
    assert metrics["final_error"] < baselines["backprop_mlp"] + 5
    assert baselines["backprop_mlp"] < 20
    assert baselines["frozen_hidden_to_hidden"] < baselines["single_layer"] - 2
    per_epoch = metrics["measurements"]["test_error_per_epoch"]
    assert len(per_epoch["microcircuit"]) == metrics["protocol"]["epochs"] + 1
    assert per_epoch["microcircuit"][-1] == metrics["final_error"]
    # the angles, tracked after every epoch for every microcircuit; the last are the reported
    angles = metrics["measurements"]["angles_deg_per_epoch"]
    assert sorted(angles) == ["frozen_hidden_to_hidden", "microcircuit",
                              "one_hidden_top_down_fixed", "one_hidden_top_down_learned",
                              "single_layer"]
    for name, angle in metrics["angles_deg"].items():
        assert len(angles["microcircuit"][name]) == metrics["protocol"]["epochs"] + 1
        assert angles["microcircuit"][name][-1] == angle
    # before learning the top-down weights are random: no alignment with the forward weights
    # (seeds 0-9: 88.9-90.3 deg)
    assert 80 < angles["microcircuit"]["W_PP_21_vs_top_down_transposed"][0] < 100


def test_classification_apical_dendrites_stay_silent_without_nudging(quick_metrics):
    """Seeds 0-9 measured 2026-12-04: apical energy at the start 3.6e-31 to 4.7e-31 (threshold
    1e-20); after learning 0.00055-0.0020 of the nudged one (threshold 0.01); layer 3's update
    16.0-28.6 deg from backprop's (threshold 45)."""
    metrics = quick_metrics("classification")
    assert metrics["apical_sq_before"] < 1e-20  # analytical self-predicting start
    # W^IP tracks the learning forward weights: silent compared with the nudged error signal
    assert metrics["apical_sq_after"] < 0.01 * metrics["measurements"]["apical_sq_nudged_after"]
    assert metrics["angles_deg"]["update_vs_backprop_layer3"] < 45


def test_classification_one_hidden_variant_learns_its_top_down_weights(quick_metrics):
    """The 64-100-10 variant. Seeds 0-9 measured 2026-12-05: top-down learned 12.8-20.9 % (mean
    16.0), top-down fixed 13.5-16.8 % (15.0), its MLP 9.8-12.1 %, all 89.6-93.3 % before; W^PI
    4.1-5.0 deg from -W^PP_{1,2}; forward weights 69.3-70.2 deg from the transposed top-down ones
    when these learn, 77.5-81.1 when fixed; apical energy without nudging 0.16-0.28 of the
    nudged one when the top-down weights learn, 0.0008-0.0026 when fixed."""
    metrics = quick_metrics("classification")
    baselines = metrics["baselines"]
    learned = metrics["measurements"]["one_hidden_top_down_learned"]
    fixed = metrics["measurements"]["one_hidden_top_down_fixed"]
    assert baselines["one_hidden_top_down_learned_initial"] > 80
    assert baselines["one_hidden_top_down_learned"] < 25
    assert baselines["one_hidden_top_down_fixed"] < 20
    assert baselines["one_hidden_backprop_mlp"] < 15
    # Eq. 10 moved the top-down weights towards the forward ones, and Eq. 9 made W^PI follow
    angle = "W_PP_21_vs_top_down_transposed"
    assert learned["angles_deg"][angle] < fixed["angles_deg"][angle] - 4
    assert learned["angles_deg"]["W_PI_1_vs_minus_top_down"] < 10
    assert "W_PI_1_vs_minus_top_down" not in fixed["angles_deg"]  # fixed, self-predicting: 0
    # following is not cancelling: the apical potential without a target stays far from silent
    assert fixed["apical_sq"] < 0.01 * fixed["apical_sq_nudged"]
    assert 0.05 * learned["apical_sq_nudged"] < learned["apical_sq"] < learned["apical_sq_nudged"]
    rates = metrics["protocol"]["one_hidden_per_update_learning_rates"]
    assert sorted(rates) == ["W_IP", "W_PI", "W_down", "W_up"]
    assert metrics["protocol"]["one_hidden_layer_sizes"] == [64, 100, 10]


def test_classification_trains_with_one_blas_thread_and_gives_the_pool_back(monkeypatch):
    """OpenBLAS's spinning threads slow the steady-state products beside other busy processes
    (benchmarks/README.md): training runs with one, and the process's pool is restored after."""
    from threadpoolctl import threadpool_info

    from core.protocols import classification

    def blas_threads():  # by library: loading the data may load another BLAS (SciPy's)
        return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()
                if pool["user_api"] == "blas"}

    before = blas_threads()
    seen = []
    train = classification.train

    def spying_train(*args, **kwargs):
        seen.append(blas_threads())
        return train(*args, **kwargs)

    monkeypatch.setattr(classification, "train", spying_train)
    classification.run(quick=True, epochs=1, learners=["backprop_mlp"], show_progress=False)
    assert before and len(seen) == 1 and set(seen[0].values()) == {1}
    after = blas_threads()
    assert {library: after[library] for library in before} == before


def test_classification_same_seed_gives_the_same_metrics(quick_metrics):
    from core.protocols import get_runner

    again = get_runner("classification")(quick=True, seed=0, show_progress=False).metrics
    first = quick_metrics("classification")
    for key in ("initial_error", "final_error", "baselines", "angles_deg", "apical_sq_after"):
        assert again[key] == first[key], key
    assert (again["measurements"]["test_error_per_epoch"]
            == first["measurements"]["test_error_per_epoch"])


def test_dataset_option_is_for_classification_only(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "theory", "--dataset", "digits"])
    assert exit_info.value.code == 2
    assert "--dataset applies to the classification experiment only" in capsys.readouterr().err


def test_steady_state_option_is_for_classification_only(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "fig2", "--steady-state", "literal_two_pass"])
    assert exit_info.value.code == 2
    assert "--steady-state applies to the classification experiment only" in \
        capsys.readouterr().err


def test_classification_with_the_literal_sec_3_4_form_stays_at_chance(tmp_path):
    """The paper's Sec. 3.4 text leaves the leak out of every soma; with our g_lk = 0.1 its
    updates point far from the fixed point's (tests/test_steady_state.py) and the digits are
    not learned: seeds 0-9 measured 2026-12-04 end at 88.9-90.6 % test error (threshold 80;
    ours: 10.8-16.2 %)."""
    out = tmp_path / "literal"
    assert main(["reproduce", "classification", "--quick", "--steady-state", "literal_two_pass",
                 "--out", str(out), "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"]["method"] == "literal_two_pass"
    assert metrics["final_error"] > 80.0


def test_regime_option_is_for_the_dynamics_experiments_only(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "theory", "--regime", "paper"])
    assert exit_info.value.code == 2
    assert ("--regime applies to self-prediction, fig1, fig2 only, not to 'theory'"
            in capsys.readouterr().err)


@pytest.mark.parametrize("experiment", REGIME_EXPERIMENTS)
def test_the_paper_regime_runs_the_papers_values(experiment, tmp_path, quick_metrics):
    """``--regime paper`` runs the experiment's preset as it is (the paper's (SM?) values);
    the default stays ours, and each run says which it was."""
    module = import_module(EXPERIMENTS[experiment])
    out = tmp_path / "paper"
    assert main(["reproduce", experiment, "--quick", "--regime", "paper", "--out", str(out),
                 "--no-progress"]) == 0
    paper = json.loads((out / "metrics.json").read_text())
    validate_metrics(paper)
    assert paper["protocol"]["regime"] == "paper"
    assert quick_metrics(experiment)["protocol"]["regime"] == "ours"
    preset = module.PRESET.make_parameters().values()
    for name in ("theta", "tau_0", "tau_w", "presentation_time", "sigma", "eta_IP", "eta_PP_up"):
        assert paper["parameters"][name] == preset[name], name
    assert paper["parameters"]["theta"] == 3.0
    assert paper["parameters"]["presentation_time"] == 100.0


@pytest.mark.parametrize("setting, message", [
    ("thta=1", "unknown parameter 'thta'; choose one of g_lk,"),
    ("theta", "expected NAME=VALUE, got 'theta'"),
    ("theta=x", "theta='x': must be a number"),
    ("theta=1e400", "theta='1e400': parameter 'theta' must be a finite number"),
    ("dt=-1", "dt='-1': parameter 'dt' = -1.0 is out of range; allowed: (0, "),
    ("eta_IP=0.1,-2", "parameter 'eta_IP' contains -2.0"),
    ("eta_IP=0.1,", "eta_IP='0.1,': must be a list of numbers such as 0.1,0.05"),
    ("learn_IP=maybe", "learn_IP='maybe': must be true or false"),
    ("transfer=linear", "parameter 'transfer' does not accept 'linear'"),
])
def test_a_bad_setting_is_refused_before_anything_runs(setting, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "fig2", "--quick", "--set", setting])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("regime, theta", [("paper", "0"), ("ours", "0.5")])
def test_a_setting_replaces_the_regimes_value(regime, theta, tmp_path):
    # ours sets theta and eta_PP_up itself: the settings must win over it, not collide
    out = tmp_path / "set"
    assert main(["reproduce", "fig1", "--quick", "--regime", regime, "--set", f"theta={theta}",
                 "--set", "eta_PP_up=0.2,0.1", "--set", "learn_IP=false", "--out", str(out),
                 "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["protocol"]["set"] == {"theta": float(theta), "eta_PP_up": [0.2, 0.1],
                                          "learn_IP": False}
    assert metrics["parameters"]["theta"] == float(theta)
    assert metrics["parameters"]["eta_PP_up"] == [0.2, 0.1]
    assert metrics["parameters"]["learn_IP"] is False
    if regime == "paper":
        assert metrics["parameters"]["tau_0"] == 3.0  # the paper's regime otherwise


def test_the_default_output_directory_names_the_regime():
    parser = build_parser()
    args = parser.parse_args(["reproduce", "fig2", "--quick", "--regime", "paper", "--seed", "4"])
    assert _out_dir(args) == "results/fig2-paper-quick-seed4"
    assert _out_dir(parser.parse_args(["reproduce", "fig2"])) == "results/fig2-seed0"
    args = parser.parse_args(["reproduce", "fig2", "--regime", "paper", "--set", "theta=0",
                              "--set", "eta_IP=0.5,0.25"])
    assert _out_dir(args) == "results/fig2-paper-theta=0-eta_IP=0.5,0.25-seed0"


def test_classification_reports_an_unavailable_data_set_in_one_line(tmp_path, monkeypatch,
                                                                   capsys):
    from core.io import data

    monkeypatch.setenv(data.ENV_DATA_DIR, str(tmp_path / "data"))
    monkeypatch.setattr(data, "MNIST_MIRRORS", ("http://127.0.0.1:9/",))  # discard port: refused
    assert main(["reproduce", "classification", "--dataset", "mnist", "--out",
                 str(tmp_path / "o"), "--no-progress"]) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("python -m core: error: MNIST is not available")
    assert stderr.count("\n") == 1 and data.ENV_DATA_DIR in stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "0", "argument --epochs: must be a positive integer, got 0"),
    ("--epochs", "-2", "argument --epochs: must be a positive integer, got -2"),
    ("--epochs", "1.5", "argument --epochs: must be a positive integer, got '1.5'"),
    ("--learners", "backprop_mlp,mlp", "argument --learners: unknown learner 'mlp'; choose from "
     "microcircuit, backprop_mlp, single_layer, frozen_hidden_to_hidden, "
     "backprop_frozen_hidden_to_hidden"),
    ("--learners", "single_layer,backprop_mlp,single_layer",
     "argument --learners: learner 'single_layer' given twice; choose from microcircuit,"),
    ("--learners", ",", "argument --learners: no learner given; choose from microcircuit,"),
])
def test_a_bad_epoch_count_or_learner_is_refused_before_anything_runs(option, value, message,
                                                                      tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "classification", "--quick", option, value, "--out",
              str(tmp_path / "o")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option, value", [("--epochs", "3"), ("--learners", "backprop_mlp")])
def test_epochs_and_learners_options_are_for_classification_only(option, value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["reproduce", "fig2", "--quick", option, value])
    assert exit_info.value.code == 2
    assert (f"{option} applies to the classification experiment only, not to 'fig2'"
            in capsys.readouterr().err)


def test_the_default_output_directory_names_epochs_and_learners_in_one_order():
    parser = build_parser()
    args = parser.parse_args(["reproduce", "classification", "--epochs", "30", "--learners",
                              "backprop_frozen_hidden_to_hidden,backprop_mlp", "--seed", "2"])
    assert _out_dir(args) == ("results/classification-epochs=30-learners=backprop_mlp,"
                              "backprop_frozen_hidden_to_hidden-seed2")
    args = parser.parse_args(["reproduce", "classification", "--quick", "--learners",
                              " backprop_mlp , backprop_frozen_hidden_to_hidden"])
    assert _out_dir(args) == ("results/classification-learners=backprop_mlp,"
                              "backprop_frozen_hidden_to_hidden-quick-seed0")
    assert _out_dir(parser.parse_args(["reproduce", "classification", "--quick", "--epochs",
                                       "2"])) == "results/classification-epochs=2-quick-seed0"


def test_classification_of_some_learners_sees_the_full_runs_images_in_its_order(
        tmp_path, quick_metrics):
    """Only the two MLPs, the full quick run's epochs: their errors after every epoch are those
    of the full run, exactly."""
    out = tmp_path / "mlps"
    assert main(["reproduce", "classification", "--quick", "--learners",
                 "backprop_frozen_hidden_to_hidden,backprop_mlp", "--out", str(out),
                 "--no-progress"]) == 0
    some = json.loads((out / "metrics.json").read_text())
    everyone = quick_metrics("classification")
    mlps = ["backprop_mlp", "backprop_frozen_hidden_to_hidden"]
    assert some["protocol"]["learners"] == mlps
    assert some["protocol"]["epochs"] == everyone["protocol"]["epochs"]
    for errors in ("test_error_per_epoch", "validation_error_per_epoch"):
        assert sorted(some["measurements"][errors]) == sorted(mlps)
        for name in mlps:
            assert some["measurements"][errors][name] == everyone["measurements"][errors][name]
    assert some["early_stopping"] == {name: everyone["early_stopping"][name] for name in mlps}


def test_classification_for_two_epochs_without_the_microcircuit(tmp_path, capsys):
    out = tmp_path / "two"
    assert main(["reproduce", "classification", "--quick", "--epochs", "2", "--learners",
                 "single_layer,backprop_mlp", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    validate_metrics(metrics)
    assert metrics["protocol"]["epochs"] == 2
    per_epoch = metrics["measurements"]["test_error_per_epoch"]
    assert sorted(per_epoch) == ["backprop_mlp", "single_layer"]
    assert all(len(errors) == 3 for errors in per_epoch.values())
    # the microcircuit's own measurements: absent, not made up
    for key in ("initial_error", "final_error", "apical_sq_before", "apical_sq_after"):
        assert metrics[key] is None, key
    assert metrics["angles_deg"] == {}
    assert "apical_sq_nudged_after" not in metrics["measurements"]
    assert set(metrics["baselines"]) == {"backprop_mlp", "single_layer", "backprop_mlp_validation",
                                         "single_layer_validation", "backprop_mlp_initial",
                                         "single_layer_initial"}
    assert sorted(metrics["early_stopping"]) == ["backprop_mlp", "single_layer"]
    assert '"early_stopping"' in printed and '"final_error"' not in printed
    assert "<html" in (out / "figure.html").read_text().lower()


def test_early_stopping_reports_the_first_epoch_of_lowest_validation_error(quick_metrics):
    from core.protocols.classification import LEARNERS, early_stopping

    metrics = quick_metrics("classification")
    assert sorted(metrics["early_stopping"]) == sorted(LEARNERS)
    for name, entry in metrics["early_stopping"].items():
        validation = metrics["measurements"]["validation_error_per_epoch"][name]
        test = metrics["measurements"]["test_error_per_epoch"][name]
        best = entry["best_epoch"]
        assert 1 <= best <= metrics["protocol"]["epochs"]
        assert entry["validation_error"] == validation[best] == min(validation[1:])
        assert all(error > validation[best] for error in validation[1:best])
        assert entry["test_error"] == test[best]
    # epoch 0 (before learning) is never chosen; ties go to the first epoch
    assert early_stopping([10.0, 30.0, 20.0, 20.0, 25.0], [1.0, 2.0, 3.0, 4.0, 5.0]) == {
        "best_epoch": 2, "validation_error": 20.0, "test_error": 3.0}
    with pytest.raises(ValueError, match="at least one epoch"):
        early_stopping([10.0], [10.0])
