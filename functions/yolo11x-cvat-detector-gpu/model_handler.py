"""The model behind the YOLO11x detector, kept behind a small interface.

main.py needs two things of a model, which the Detector protocol names:
the class names it can detect (to check the LABELS list at start-up) and
detect(image, threshold). YoloDetector implements them with Ultralytics'
YOLO; the unit tests substitute a stub with fixed boxes, so they run with
no GPU, no weights, no torch and no ultralytics (both are imported only
when a YoloDetector is made).
"""

import os
from typing import Collection, List, NamedTuple, Protocol, Tuple


class Detection(NamedTuple):
    """One detected object, in the pixels of the image it was found in."""

    label: str  # the model's class name, e.g. "person"
    confidence: float  # in [0, 1]
    box: Tuple[float, float, float, float]  # xtl, ytl, xbr, ybr


class Detector(Protocol):
    """What main.py uses of a model."""

    # Every class name the model can return.
    class_names: Collection[str]

    def detect(self, image, threshold: float) -> List[Detection]:
        """Objects in a PIL RGB image with a confidence of at least
        threshold (a model may return some below it: main.py filters)."""
        ...


class ModelError(Exception):
    """The model cannot be loaded; the message says why."""


class YoloDetector:
    """Ultralytics YOLO loaded once from a weights file, on the first GPU
    when torch sees one, else on the CPU (with a warning: YOLO11x on a CPU
    takes seconds per image)."""

    def __init__(self, weights_path: str, logger):
        if not os.path.isfile(weights_path):
            raise ModelError(
                f"no weights at {weights_path}: the image bakes them in at build "
                "time (see the Dockerfile); nothing is downloaded at run time"
            )
        # Imported here, not at the top: the tests have neither.
        import torch
        from ultralytics import YOLO

        if torch.cuda.is_available():
            self.device = "cuda:0"
            logger.info(f"CUDA device 0: {torch.cuda.get_device_name(0)}")
        else:
            self.device = "cpu"
            logger.warn(
                "CUDA is not available: YOLO11x runs on the CPU, which is slow. "
                "On the cluster the function must run on the GPU node, with an "
                "nvidia.com/gpu limit and the nvidia container runtime"
            )
        try:
            self._model = YOLO(weights_path, task="detect")
            self._model.to(self.device)
        except Exception as err:  # torch and ultralytics raise many kinds
            raise ModelError(f"cannot load {weights_path} on {self.device}: {err}") from err
        # names maps a class index to its name: {0: "person", 1: "bicycle", ...}.
        self._names = dict(self._model.names)
        self.class_names = frozenset(self._names.values())
        logger.info(
            f"loaded {weights_path} on {self.device}: {len(self._names)} classes"
        )

    def warm_up(self, image) -> None:
        """Runs the model once, so that CUDA kernels are loaded before the
        first request, and a broken GPU fails the start-up, not a request."""
        self.detect(image, 0.99)

    def detect(self, image, threshold: float) -> List[Detection]:
        # conf filters inside NMS (Ultralytics keeps scores above it);
        # main.py applies the contract's >= threshold again.
        result = self._model.predict(
            image, conf=threshold, device=self.device, verbose=False
        )[0]
        boxes = result.boxes
        return [
            Detection(self._names[int(cls)], float(conf), tuple(float(v) for v in xyxy))
            for xyxy, conf, cls in zip(
                boxes.xyxy.tolist(), boxes.conf.tolist(), boxes.cls.tolist()
            )
        ]
