"""The faithfulness eval suite: `newsrag eval` and `eval.runner.evaluate` (see docs/evals.md)."""
