"""cvlearn.exercises.classification: each checker accepts the worked solution and rejects a wrong answer with a hint."""

import torch

from cvlearn.exercises import classification as ex


def solution_accuracy(logits, targets):
    return (logits.argmax(dim=1) == targets).float().mean().item()


def solution_conv_output_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def solution_colour_shortcut(images, labels):
    marked = images.clone()
    red = torch.tensor([255, 0, 0], dtype=torch.uint8).view(3, 1, 1)
    marked[labels == 1, :, : ex.SHORTCUT_SIZE, : ex.SHORTCUT_SIZE] = red
    return marked


def solution_cluster_agreement(clusters, classes):
    total = 0
    for c in clusters.unique():
        total += torch.bincount(classes[clusters == c]).max().item()
    return total / len(classes)


def test_checkers_accept_the_solutions(capsys):
    assert ex.check_accuracy(solution_accuracy)
    assert ex.check_conv_output_size(solution_conv_output_size)
    assert ex.check_colour_shortcut(solution_colour_shortcut)
    assert ex.check_cluster_agreement(solution_cluster_agreement)
    out = capsys.readouterr().out
    assert out.count("✓") == 4 and "✗" not in out


def _rejects(feedback, *words):
    assert not feedback and str(feedback).startswith("✗")
    for word in words:
        assert word in feedback.message, feedback.message


def test_accuracy_checker_hints():
    _rejects(ex.check_accuracy(lambda lg, t: (lg.argmax(1) == t).sum().item(), quiet=True), "divide by the number")
    _rejects(ex.check_accuracy(lambda lg, t: (lg.argmax(1) == t).float().mean(), quiet=True), ".item()")
    _rejects(
        ex.check_accuracy(lambda lg, t: (lg.argmax(0)[:1] == t[:1]).float().mean().item(), quiet=True),
        "logits.argmax(dim=1)",
    )
    _rejects(ex.check_accuracy(lambda lg, t: (lg == t[:, None]).float(), quiet=True), "argmax")
    _rejects(ex.check_accuracy(lambda lg, t: 1 / 0, quiet=True), "ZeroDivisionError")
    _rejects(ex.check_accuracy("accuracy", quiet=True), "expected a function")


def test_conv_checker_hints():
    _rejects(ex.check_conv_output_size(lambda n, k, s, p: (n + 2 * p - k) // s, quiet=True), "+ 1")
    _rejects(ex.check_conv_output_size(lambda n, k, s, p: (n + p - k) // s + 1, quiet=True), "2 * padding")
    _rejects(ex.check_conv_output_size(lambda n, k, s, p: (n + 2 * p - k) / s + 1, quiet=True), "round down")
    _rejects(ex.check_conv_output_size(lambda n, k, s, p: n + 2 * p - k + 1, quiet=True), "stride")
    _rejects(ex.check_conv_output_size(lambda n, k, s, p: None, quiet=True), "whole number")


def test_colour_shortcut_checker_hints():
    def in_place(images, labels):
        images[labels == 1, 0, :6, :6] = 255
        return images

    def everyone(images, labels):
        return solution_colour_shortcut(images, torch.ones_like(labels))

    def green(images, labels):
        out = images.clone()
        out[labels == 1, :, :6, :6] = torch.tensor([0, 255, 0], dtype=torch.uint8).view(3, 1, 1)
        return out

    def too_big(images, labels):
        out = images.clone()
        out[labels == 1, :, :8, :8] = torch.tensor([255, 0, 0], dtype=torch.uint8).view(3, 1, 1)
        return out

    _rejects(ex.check_colour_shortcut(in_place, quiet=True), "on a copy")
    _rejects(ex.check_colour_shortcut(everyone, quiet=True), "is a cat and was changed")
    _rejects(ex.check_colour_shortcut(green, quiet=True), "pure red")
    _rejects(ex.check_colour_shortcut(too_big, quiet=True), "outside the 6×6 corner")
    _rejects(ex.check_colour_shortcut(lambda images, labels: images.float(), quiet=True), "uint8 tensor")


def test_cluster_checker_hints():
    _rejects(
        ex.check_cluster_agreement(lambda c, y: (c == y).float().mean().item(), quiet=True),
        "cluster numbers are arbitrary",
    )
    _rejects(ex.check_cluster_agreement(lambda c, y: 0.5, quiet=True), "keep the biggest count")
    _rejects(ex.check_cluster_agreement(lambda c, y: "high", quiet=True), "one number")


def test_checker_messages_are_one_line(capsys):
    ex.check_accuracy(lambda lg, t: 0.0)
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and line.startswith("✗ accuracy:")


# 5 · predict, then run


def test_shape_predictions_pass_when_they_come_true_and_explain_when_not():
    from cvlearn.models import SimpleCNN

    model = SimpleCNN(2, widths=(4, 8, 16))  # three halvings: 64 → 8, 128 → 16
    right = ((1, 16, 8, 8), (1, 16, 16, 16), (1, 2))
    assert ex.check_shape_predictions(lambda: right, model, quiet=True)
    assert model.training  # the checker leaves the model as it found it
    wrong = ex.check_shape_predictions(lambda: (right[0], right[1], "error"), model, quiet=True)
    assert not wrong and "no error" in wrong.message and "global average pool" in wrong.message
    wrong = ex.check_shape_predictions(lambda: (right[0], right[0], right[2]), model, quiet=True)
    assert not wrong and "halves the height and width" in wrong.message and "128 px → 16 px" in wrong.message
    wrong = ex.check_shape_predictions(lambda: (right[0], right[1], (1, 16)), model, quiet=True)
    assert not wrong and "one score per class" in wrong.message and "no error" not in wrong.message
    assert "3 predictions" in ex.check_shape_predictions(lambda: right[:2], model, quiet=True).message
    assert 'as "error"' in ex.check_shape_predictions(lambda: (right[0], right[1], "boom"), model, quiet=True).message
