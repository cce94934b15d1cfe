"""YOLO11x as a CVAT detector: the Nuclio entry points.

Nuclio's Python runtime imports this module and calls init_context(context)
once per worker, then handler(context, event) for every request (the
function's handler is "main:handler"). See README.md for the contract in
one page; the references below are to CVAT's and Nuclio's sources.

The request, as CVAT sends it to a detector (cvat-ai/cvat at commit 024777ef,
cvat/apps/lambda_manager/views.py, LambdaFunction.invoke): a JSON object
{"image": <base64 of the frame's bytes>, "threshold": <float>}, where CVAT
adds "threshold" only when the user set one; CVAT's own detectors default
it to 0.5 (serverless/onnx/WongKinYiu/yolov7/nuclio/main.py and
serverless/pytorch/ultralytics/yolov8/nuclio/main.py:
float(data.get("threshold", 0.5))).

The response: status 200, application/json, a list of
{"confidence": "<score as a string>", "label": <name>,
 "points": [xtl, ytl, xbr, ybr], "type": "rectangle"}, the shape CVAT's own
YOLO detectors return (yolov7's model_handler.py: str(score), integer
points clamped to the image). CVAT keeps an item whose "label" its mapping
knows and builds a shape from "type" and "points" (views.py, invoke and
LambdaJob._call_detector); it reads "confidence" nowhere but its own
functions return it, so this one does too.

Bad input gets a 400 with {"error": "<what is wrong>"}. Nuclio's wrapper
answers an exception escaping the handler with a 500 whose body is the
Python traceback (pkg/processor/runtime/python/py/_nuclio_wrapper.py,
_log_and_response_error), so nothing is allowed to escape: a failure of
the model itself is a 500 with a one-line message, the traceback going to
the function's log only.

Start-up refuses a bad configuration: init_context logs why and raises,
and Nuclio's wrapper stops when init_context raises (_nuclio_wrapper.py,
_initialize_context), so the pod never becomes ready.
"""

import base64
import binascii
import io
import json
import math
import os
import traceback
from typing import Any, Dict, List, NamedTuple, Tuple

from PIL import Image

import model_handler

# LABELS_ENV names the environment variable that holds the labels the
# function offers CVAT: the same JSON as CVAT's "spec" annotation, a list
# of {"id": <int>, "name": <the model's class name>, "type": "rectangle"}.
# On the cluster the renderer sets it from the CUE model, from the same
# list it turns into the "spec" annotation; README.md has the contract.
LABELS_ENV = "LABELS"

# WEIGHTS_PATH is where the Dockerfile bakes in YOLO11x's weights.
WEIGHTS_PATH = "/opt/nuclio/yolo11x.pt"

# DEFAULT_THRESHOLD is CVAT's functions' default (see above).
DEFAULT_THRESHOLD = 0.5

# The one shape this detector returns.
RECTANGLE = "rectangle"


class ConfigError(Exception):
    """The function's configuration is unusable; the message says why."""


class BadRequest(Exception):
    """The request is unusable; the message says why, for a 400."""


class Label(NamedTuple):
    id: int
    name: str
    type: str


# ---------------------------------------------------------------- labels


def parse_labels(text: str) -> List[Label]:
    """The labels of LABELS_ENV's value, or ConfigError naming what is
    wrong. Keys besides id, name and type (CVAT's "attributes", say) are
    allowed and ignored."""
    try:
        items = json.loads(text)
    except ValueError as err:
        raise ConfigError(f"{LABELS_ENV} is not JSON ({err}); want {_LABELS_SHAPE}") from None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{LABELS_ENV} must be a non-empty JSON list; want {_LABELS_SHAPE}")
    labels, ids, names = [], set(), set()
    for i, item in enumerate(items):
        where = f"{LABELS_ENV}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where} is {json.dumps(item)}, not an object; want {_LABELS_SHAPE}")
        id_, name, type_ = item.get("id"), item.get("name"), item.get("type")
        if isinstance(id_, bool) or not isinstance(id_, int) or id_ < 0:
            raise ConfigError(f'{where}: "id" must be an integer >= 0, got {json.dumps(id_)}')
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f'{where}: "name" must be a non-empty string, got {json.dumps(name)}')
        if type_ != RECTANGLE:
            raise ConfigError(
                f'{where} ({name}): "type" must be "{RECTANGLE}", the only shape this detector '
                f"returns, got {json.dumps(type_)}"
            )
        # CVAT refuses a function whose labels repeat a name (views.py,
        # LambdaFunction.__init__: "has non-unique labels").
        if name in names:
            raise ConfigError(f'{where}: the name "{name}" is already used; names must be unique')
        if id_ in ids:
            raise ConfigError(f"{where} ({name}): the id {id_} is already used; ids must be unique")
        ids.add(id_)
        names.add(name)
        labels.append(Label(id_, name, type_))
    return labels


_LABELS_SHAPE = '[{"id": 0, "name": "person", "type": "rectangle"}, ...]'


def load_labels(environ=os.environ) -> List[Label]:
    """The labels of the environment, or ConfigError."""
    text = environ.get(LABELS_ENV)
    if text is None or not text.strip():
        raise ConfigError(
            f"{LABELS_ENV} is not set: it must hold the labels this function offers CVAT, "
            f"as JSON: {_LABELS_SHAPE}. On the cluster the renderer sets it from the CUE "
            "model; for nuctl, function.yaml sets COCO's 80 classes"
        )
    return parse_labels(text)


# ------------------------------------------------------------ start-up


def create_model(weights_path: str, logger) -> "model_handler.Detector":
    """The model; the tests replace this function with one that returns a stub."""
    return model_handler.YoloDetector(weights_path, logger)


def init_context(context) -> None:
    """Reads LABELS, loads the model once and checks that it knows every
    label; logs the reason and raises if anything is wrong."""
    try:
        labels = load_labels()
        model = create_model(WEIGHTS_PATH, context.logger)
        unknown = sorted(label.name for label in labels if label.name not in model.class_names)
        if unknown:
            raise ConfigError(
                f"{LABELS_ENV} names classes the model does not detect: {', '.join(unknown)}; "
                f"the model's classes are: {', '.join(sorted(model.class_names))}"
            )
        warm_up = getattr(model, "warm_up", None)
        if warm_up is not None:
            warm_up(Image.new("RGB", (640, 640)))
    except Exception as err:  # ConfigError, ModelError, or torch's own
        context.logger.error(f"refusing to start: {err}")
        raise
    context.user_data.labels = frozenset(label.name for label in labels)
    context.user_data.model = model
    context.logger.info(f"ready: {len(labels)} labels")


# ------------------------------------------------------------ requests


def handler(context, event):
    try:
        image, threshold = parse_request(event.body)
    except BadRequest as err:
        return _json_response(context, 400, {"error": str(err)})
    try:
        detections = context.user_data.model.detect(image, threshold)
        shapes = to_cvat(detections, context.user_data.labels, threshold, image.size)
    except Exception as err:
        context.logger.error(f"inference failed: {err!r}\n{traceback.format_exc()}")
        return _json_response(
            context, 500, {"error": f"inference failed ({type(err).__name__}); see the function's log"}
        )
    return _json_response(context, 200, shapes)


def parse_request(body: Any) -> Tuple[Image.Image, float]:
    """The decoded RGB image and the threshold of a request body, or
    BadRequest. Nuclio hands over a JSON body already decoded when its
    content type is application/json, else as bytes, so both are read."""
    if isinstance(body, (bytes, bytearray, str)):
        if not body:
            raise BadRequest(f"the body is empty; want a JSON object {_REQUEST_SHAPE}")
        try:
            body = json.loads(body)
        except ValueError:
            raise BadRequest(f"the body is not JSON; want a JSON object {_REQUEST_SHAPE}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object {_REQUEST_SHAPE}")
    return parse_image(body.get("image")), parse_threshold(body.get("threshold"))


_REQUEST_SHAPE = '{"image": "<base64 of the image file>", "threshold": 0.5}'


def parse_image(value: Any) -> Image.Image:
    if value is None:
        raise BadRequest(f'"image" is missing; want {_REQUEST_SHAPE}')
    if not isinstance(value, str):
        raise BadRequest(f'"image" must be a string of base64, got {type(value).__name__}')
    # Line breaks and spaces, which some base64 encoders add, are not errors.
    text = "".join(value.split())
    if not text:
        raise BadRequest('"image" is empty')
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest('"image" is not valid base64') from None
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        return image.convert("RGB")
    except Image.DecompressionBombError:
        raise BadRequest('"image" has too many pixels to decode safely') from None
    except Exception:  # PIL raises OSError, SyntaxError, ValueError... on bad files
        raise BadRequest(
            f'"image" is base64 of {len(data)} bytes that are not an image Pillow can decode'
        ) from None


def parse_threshold(value: Any) -> float:
    if value is None:
        return DEFAULT_THRESHOLD
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            pass
    if number is None or not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise BadRequest(f'"threshold" must be a number from 0 to 1, got {json.dumps(value)[:40]}')
    return number


def to_cvat(
    detections: List["model_handler.Detection"],
    labels: frozenset,
    threshold: float,
    size: Tuple[int, int],
) -> List[Dict[str, Any]]:
    """CVAT's shapes for the detections of the offered labels whose
    confidence is at least the threshold, in the model's order; points are
    integers inside the image, as CVAT's yolov7 function makes them."""
    width, height = size
    shapes = []
    for d in detections:
        if d.label not in labels or not d.confidence >= threshold:
            continue
        xtl, ytl, xbr, ybr = d.box
        shapes.append(
            {
                "confidence": str(round(float(d.confidence), 6)),
                "label": d.label,
                "points": [
                    _clamp(xtl, width),
                    _clamp(ytl, height),
                    _clamp(xbr, width),
                    _clamp(ybr, height),
                ],
                "type": RECTANGLE,
            }
        )
    return shapes


def _clamp(value: float, limit: int) -> int:
    return min(max(int(value), 0), limit)


def _json_response(context, status: int, payload: Any):
    return context.Response(
        body=json.dumps(payload),
        headers={},
        content_type="application/json",
        status_code=status,
    )
