"""What a run reports while it runs: progress bars (`progress`) and experiment trackers
(TensorBoard, MLflow: `trackers`). Importing this package imports neither tracker."""
