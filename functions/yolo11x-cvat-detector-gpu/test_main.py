"""Tests of the YOLO11x Nuclio function, runnable without a GPU, weights,
torch, ultralytics or nuclio_sdk: a stub model returns fixed boxes, and a
minimal fake of Nuclio's context, event and Response stands in for the
runtime. They need Pillow and PyYAML (Debian's python3-pil and
python3-yaml; `make function-test` installs them):

    cd functions/yolo11x-cvat-detector-gpu && python3 -m unittest
"""

import base64
import hashlib
import io
import json
import os
import pathlib
import re
import sys
import tempfile
import types
import unittest
from unittest import mock

import yaml
from PIL import Image

import fetch_weights
import main
import model_handler

HERE = pathlib.Path(__file__).resolve().parent

# The classes of Ultralytics' COCO models, in index order (its coco.yaml):
# the oracle for the labels the cluster offers CVAT.
COCO_NAMES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
]

# ------------------------------------------------------------------ fakes


class FakeLogger:
    """The methods of nuclio_sdk's logger the function uses."""

    def __init__(self):
        self.records = []

    def debug(self, message, *args):
        self.records.append(("debug", message))

    def info(self, message, *args):
        self.records.append(("info", message))

    def warn(self, message, *args):
        self.records.append(("warn", message))

    def error(self, message, *args):
        self.records.append(("error", message))

    def text(self, level):
        return "\n".join(m for lvl, m in self.records if lvl == level)


class FakeResponse:
    """nuclio_sdk.Response's constructor."""

    def __init__(self, headers=None, body=None, content_type=None, status_code=200):
        self.headers = headers
        self.body = body
        self.content_type = content_type
        self.status_code = status_code


class FakeContext:
    Response = FakeResponse

    def __init__(self):
        self.logger = FakeLogger()
        self.user_data = types.SimpleNamespace()


class FakeEvent:
    def __init__(self, body, content_type="application/json"):
        self.body = body
        self.content_type = content_type
        self.method = "POST"


class StubModel:
    """A Detector with fixed boxes that records what it was asked."""

    def __init__(self, detections=(), class_names=COCO_NAMES, fail=None):
        self.detections = list(detections)
        self.class_names = frozenset(class_names)
        self.fail = fail
        self.calls = []
        self.warmed_up = 0

    def warm_up(self, image):
        self.warmed_up += 1

    def detect(self, image, threshold):
        self.calls.append({"mode": image.mode, "size": image.size, "threshold": threshold})
        if self.fail is not None:
            raise self.fail
        return list(self.detections)


D = model_handler.Detection

# On a 64x48 image: a person, a low-confidence car, a dog CVAT is not
# offered, and a box reaching past the image's edges.
DETECTIONS = [
    D("person", 0.9, (10.7, 5.2, 30.9, 40.0)),
    D("car", 0.5, (0.0, 0.0, 20.0, 20.0)),
    D("car", 0.3, (1.0, 2.0, 3.0, 4.0)),
    D("dog", 0.95, (5.0, 5.0, 15.0, 15.0)),
    D("bicycle", 0.75, (-3.5, -1.0, 70.2, 50.9)),
]

LABELS = [
    {"id": 0, "name": "person", "type": "rectangle"},
    {"id": 1, "name": "bicycle", "type": "rectangle"},
    {"id": 2, "name": "car", "type": "rectangle"},
]


def image_bytes(fmt, size=(64, 48), mode="RGB"):
    image = Image.new(mode, size, color=(200, 30, 60) if mode == "RGB" else 128)
    for x in range(size[0] // 4):  # a little structure, not one flat colour
        image.putpixel((x, x % size[1]), (0, 255, 0) if mode == "RGB" else 0)
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def b64(data):
    return base64.b64encode(data).decode("ascii")


def start(model, labels=LABELS):
    """A context after init_context with the given model and LABELS."""
    context = FakeContext()
    env = {main.LABELS_ENV: json.dumps(labels)}
    with mock.patch.dict(os.environ, env), mock.patch.object(
        main, "create_model", return_value=model
    ) as create:
        main.init_context(context)
    create.assert_called_once_with(main.WEIGHTS_PATH, context.logger)
    return context


def call(context, body):
    response = main.handler(context, FakeEvent(body))
    return response, json.loads(response.body)


# ------------------------------------------------------------------ tests


class TestDetect(unittest.TestCase):
    def setUp(self):
        self.model = StubModel(DETECTIONS)
        self.context = start(self.model)

    def test_png_exact_response(self):
        response, body = call(self.context, {"image": b64(image_bytes("PNG"))})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content_type, "application/json")
        # The default threshold is 0.5 and kept inclusively; the dog is not
        # offered; points are integers inside the 64x48 image.
        self.assertEqual(
            body,
            [
                {"confidence": "0.9", "label": "person", "points": [10, 5, 30, 40], "type": "rectangle"},
                {"confidence": "0.5", "label": "car", "points": [0, 0, 20, 20], "type": "rectangle"},
                {"confidence": "0.75", "label": "bicycle", "points": [0, 0, 64, 48], "type": "rectangle"},
            ],
        )
        self.assertEqual(self.model.calls, [{"mode": "RGB", "size": (64, 48), "threshold": 0.5}])

    def test_jpeg_and_other_modes_reach_the_model_as_rgb(self):
        for fmt, mode in (("JPEG", "RGB"), ("PNG", "L"), ("GIF", "L"), ("BMP", "RGB")):
            with self.subTest(fmt=fmt, mode=mode):
                self.model.calls.clear()
                response, body = call(
                    self.context, {"image": b64(image_bytes(fmt, (33, 21), mode)), "threshold": 0.8}
                )
                self.assertEqual(response.status_code, 200, body)
                self.assertEqual(self.model.calls, [{"mode": "RGB", "size": (33, 21), "threshold": 0.8}])
                self.assertEqual(
                    body,
                    [{"confidence": "0.9", "label": "person", "points": [10, 5, 30, 21], "type": "rectangle"}],
                )

    def test_threshold_filters_inclusively(self):
        cases = [
            (0.0, ["person", "car", "car", "bicycle"]),
            (0.3, ["person", "car", "car", "bicycle"]),
            (0.31, ["person", "car", "bicycle"]),
            (0.75, ["person", "bicycle"]),
            (0.9, ["person"]),
            (1, []),
            ("0.75", ["person", "bicycle"]),  # CVAT's functions take float(threshold)
        ]
        for threshold, labels in cases:
            with self.subTest(threshold=threshold):
                response, body = call(self.context, {"image": b64(image_bytes("PNG")), "threshold": threshold})
                self.assertEqual(response.status_code, 200)
                self.assertEqual([s["label"] for s in body], labels)
                self.assertEqual(self.model.calls[-1]["threshold"], float(threshold))

    def test_null_threshold_is_the_default(self):
        _, body = call(self.context, {"image": b64(image_bytes("PNG")), "threshold": None})
        self.assertEqual([s["label"] for s in body], ["person", "car", "bicycle"])

    def test_only_offered_labels_are_returned(self):
        context = start(StubModel(DETECTIONS), labels=[{"id": 16, "name": "dog", "type": "rectangle"}])
        _, body = call(context, {"image": b64(image_bytes("PNG"))})
        self.assertEqual(
            body, [{"confidence": "0.95", "label": "dog", "points": [5, 5, 15, 15], "type": "rectangle"}]
        )

    def test_nothing_detected_is_an_empty_list(self):
        context = start(StubModel([]))
        response, body = call(context, {"image": b64(image_bytes("JPEG"))})
        self.assertEqual((response.status_code, body), (200, []))

    def test_body_as_bytes_or_text(self):
        # Nuclio decodes a JSON body only when the content type says JSON.
        payload = json.dumps({"image": b64(image_bytes("PNG")), "threshold": 0.9})
        for body in (payload.encode(), payload):
            with self.subTest(kind=type(body).__name__):
                response, shapes = call(self.context, body)
                self.assertEqual(response.status_code, 200)
                self.assertEqual([s["label"] for s in shapes], ["person"])

    def test_base64_with_line_breaks(self):
        wrapped = base64.encodebytes(image_bytes("PNG")).decode()  # 76-column lines
        self.assertIn("\n", wrapped)
        response, _ = call(self.context, {"image": wrapped})
        self.assertEqual(response.status_code, 200)

    def test_extra_fields_are_ignored(self):
        response, _ = call(self.context, {"image": b64(image_bytes("PNG")), "quality": "original", "x": [1]})
        self.assertEqual(response.status_code, 200)


class TestBadRequests(unittest.TestCase):
    def setUp(self):
        self.model = StubModel(DETECTIONS)
        self.context = start(self.model)

    def assertBadRequest(self, body, message):
        response, payload = call(self.context, body)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.content_type, "application/json")
        self.assertEqual(list(payload), ["error"])
        self.assertRegex(payload["error"], message)
        self.assertNotIn("Traceback", response.body)
        self.assertEqual(self.model.calls, [], "the model must not run on a bad request")

    def test_body(self):
        cases = [
            (b"", "the body is empty"),
            ("", "the body is empty"),
            (b"not json", "the body is not JSON"),
            (b"\xff\xfe\xfa", "the body is not JSON"),
            (b"[1, 2]", "must be a JSON object"),
            ([{"image": "x"}], "must be a JSON object"),
            (None, "must be a JSON object"),
            (42, "must be a JSON object"),
        ]
        for body, message in cases:
            with self.subTest(body=body):
                self.assertBadRequest(body, message)

    def test_image(self):
        png = image_bytes("PNG")
        cases = [
            ({}, '"image" is missing'),
            ({"threshold": 0.5}, '"image" is missing'),
            ({"image": None}, '"image" is missing'),
            ({"image": 12}, '"image" must be a string of base64, got int'),
            ({"image": ["aGk="]}, '"image" must be a string of base64, got list'),
            ({"image": ""}, '"image" is empty'),
            ({"image": " \n "}, '"image" is empty'),
            ({"image": "not base64!"}, '"image" is not valid base64'),
            ({"image": "aGVsbG8"}, '"image" is not valid base64'),  # bad padding
            ({"image": b64(png) + "*"}, '"image" is not valid base64'),  # not silently dropped
            ({"image": "data:image/png;base64," + b64(png)}, '"image" is not valid base64'),
            ({"image": b64(b"hello, not an image")}, "base64 of 19 bytes that are not an image"),
            ({"image": b64(png[: len(png) // 2])}, "not an image Pillow can decode"),  # truncated
            ({"image": b64(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)}, "not an image Pillow can decode"),
        ]
        for body, message in cases:
            with self.subTest(body=str(body)[:60]):
                self.assertBadRequest(body, message)

    def test_threshold(self):
        image = b64(image_bytes("PNG"))
        for threshold in (-0.01, 1.01, 2, -1, "abc", "", True, False, [0.5], {"v": 1}, float("nan"), float("inf")):
            with self.subTest(threshold=threshold):
                self.assertBadRequest(
                    {"image": image, "threshold": threshold}, r'"threshold" must be a number from 0 to 1, got '
                )
        # JSON's own NaN, which Python's json module accepts.
        self.assertBadRequest(('{"image": "%s", "threshold": NaN}' % image).encode(), '"threshold" must be')

    def test_decompression_bomb(self):
        with mock.patch.object(Image, "MAX_IMAGE_PIXELS", 100):
            self.assertBadRequest({"image": b64(image_bytes("PNG"))}, "too many pixels")


class TestModelFailure(unittest.TestCase):
    def test_500_without_traceback(self):
        model = StubModel(DETECTIONS, fail=RuntimeError("CUDA error: out of memory"))
        context = start(model)
        response, payload = call(context, {"image": b64(image_bytes("PNG"))})
        self.assertEqual(response.status_code, 500)
        self.assertEqual(payload, {"error": "inference failed (RuntimeError); see the function's log"})
        self.assertIn("CUDA error: out of memory", context.logger.text("error"))
        self.assertIn("Traceback", context.logger.text("error"))


class TestStartup(unittest.TestCase):
    def test_loads_the_model_once_and_warms_it_up(self):
        model = StubModel()
        context = start(model)
        self.assertIs(context.user_data.model, model)
        self.assertEqual(context.user_data.labels, frozenset({"person", "bicycle", "car"}))
        self.assertEqual(model.warmed_up, 1)
        self.assertIn("ready: 3 labels", context.logger.text("info"))
        for _ in range(3):
            call(context, {"image": b64(image_bytes("PNG"))})
        self.assertEqual(len(model.calls), 3)

    def refuses(self, env, message, model=None):
        context = FakeContext()
        model = model or StubModel()
        with mock.patch.dict(os.environ, env, clear=True), mock.patch.object(
            main, "create_model", return_value=model
        ):
            with self.assertRaises(main.ConfigError) as raised:
                main.init_context(context)
        self.assertRegex(str(raised.exception), message)
        self.assertIn(f"refusing to start: {raised.exception}", context.logger.text("error"))
        self.assertFalse(hasattr(context.user_data, "model"))

    def test_missing_labels(self):
        self.refuses({}, r"LABELS is not set: it must hold the labels this function offers CVAT, as JSON")
        self.refuses({"LABELS": "  "}, "LABELS is not set")

    def test_malformed_labels(self):
        person = {"id": 0, "name": "person", "type": "rectangle"}
        cases = [
            ("[", r"LABELS is not JSON \(.*\); want \[\{\"id\": 0"),
            ('{"id": 0}', "LABELS must be a non-empty JSON list"),
            ("[]", "LABELS must be a non-empty JSON list"),
            ('"person"', "LABELS must be a non-empty JSON list"),
            ('["person"]', r'LABELS\[0\] is "person", not an object'),
            (json.dumps([person, 1]), r"LABELS\[1\] is 1, not an object"),
            ('[{"name": "person", "type": "rectangle"}]', r'LABELS\[0\]: "id" must be an integer >= 0, got null'),
            ('[{"id": "0", "name": "person", "type": "rectangle"}]', r'"id" must be an integer >= 0, got "0"'),
            ('[{"id": -1, "name": "person", "type": "rectangle"}]', r'"id" must be an integer >= 0, got -1'),
            ('[{"id": 1.5, "name": "person", "type": "rectangle"}]', r'"id" must be an integer >= 0, got 1.5'),
            ('[{"id": true, "name": "person", "type": "rectangle"}]', r'"id" must be an integer >= 0, got true'),
            ('[{"id": 0, "type": "rectangle"}]', r'"name" must be a non-empty string, got null'),
            ('[{"id": 0, "name": "", "type": "rectangle"}]', r'"name" must be a non-empty string, got ""'),
            ('[{"id": 0, "name": 7, "type": "rectangle"}]', r'"name" must be a non-empty string, got 7'),
            ('[{"id": 0, "name": "person"}]', r'LABELS\[0\] \(person\): "type" must be "rectangle", .* got null'),
            ('[{"id": 0, "name": "person", "type": "polygon"}]', r'"type" must be "rectangle", .* got "polygon"'),
            (json.dumps([person, dict(person, id=1)]), r'LABELS\[1\]: the name "person" is already used'),
            (json.dumps([person, dict(person, name="car")]), r"LABELS\[1\] \(car\): the id 0 is already used"),
        ]
        for text, message in cases:
            with self.subTest(labels=text):
                self.refuses({"LABELS": text}, message)

    def test_labels_the_model_does_not_know(self):
        labels = [
            {"id": 0, "name": "person", "type": "rectangle"},
            {"id": 3, "name": "motorbike", "type": "rectangle"},  # CVAT yolov7's name; the model says motorcycle
            {"id": 4, "name": "aeroplane", "type": "rectangle"},
        ]
        self.refuses(
            {"LABELS": json.dumps(labels)},
            r"LABELS names classes the model does not detect: aeroplane, motorbike; the model's classes are: ",
        )

    def test_extra_label_keys_are_allowed(self):
        labels = [{"id": 0, "name": "person", "type": "rectangle", "attributes": []}]
        self.assertEqual(main.parse_labels(json.dumps(labels)), [main.Label(0, "person", "rectangle")])

    def test_model_that_cannot_load(self):
        context = FakeContext()
        error = model_handler.ModelError("no weights at /opt/nuclio/yolo11x.pt: ...")
        with mock.patch.dict(os.environ, {"LABELS": json.dumps(LABELS)}), mock.patch.object(
            main, "create_model", side_effect=error
        ):
            with self.assertRaises(model_handler.ModelError):
                main.init_context(context)
        self.assertIn("refusing to start: no weights at /opt/nuclio/yolo11x.pt", context.logger.text("error"))

    def test_real_detector_refuses_missing_weights_before_importing_torch(self):
        with self.assertRaisesRegex(model_handler.ModelError, "no weights at /nonexistent/yolo11x.pt"):
            model_handler.YoloDetector("/nonexistent/yolo11x.pt", FakeLogger())
        self.assertNotIn("torch", sys.modules)
        self.assertNotIn("ultralytics", sys.modules)


REPO = HERE.parent.parent


def rendered_functions(image):
    """The NuclioFunctions the renderer wrote (clusters/*/apps/*/) that run
    the image this folder builds, whatever the tag."""
    found = []
    for path in sorted(REPO.glob("clusters/*/apps/*/nucliofunction-*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if doc["spec"]["image"].rsplit(":", 1)[0].split("@")[0] == image:
            found.append((path.relative_to(REPO), doc))
    return found


class TestFunctionYaml(unittest.TestCase):
    """function.yaml is CVAT's and nuctl's view of the function; the cluster
    runs the NuclioFunction rendered from the CUE model. The two agree, and
    the labels have one source: the model."""

    @classmethod
    def setUpClass(cls):
        cls.config = yaml.safe_load((HERE / "function.yaml").read_text())
        cls.rendered = rendered_functions(cls.config["spec"]["build"]["image"])

    def test_a_cluster_runs_it(self):
        self.assertTrue(
            self.rendered,
            f"no rendered NuclioFunction runs {self.config['spec']['build']['image']}: "
            "declare the function in the CUE model and run go run ./cmd/render, or remove this folder",
        )

    def test_labels_are_one_text_for_cvat_and_the_handler(self):
        for path, fn in self.rendered:
            with self.subTest(path=str(path)):
                annotation = fn["metadata"]["annotations"]["spec"]
                env = {e["name"]: e["value"] for e in fn["spec"].get("env", [])}
                self.assertEqual(env.get(main.LABELS_ENV), annotation)
                labels = main.parse_labels(annotation)
                # The model detects COCO's classes: every label is one of them.
                unknown = sorted({l.name for l in labels} - set(COCO_NAMES))
                self.assertEqual(unknown, [], "labels the model does not detect")
                # CVAT reads the annotation with json.loads and wants unique names.
                names = [item["name"] for item in json.loads(annotation)]
                self.assertEqual(len(names), len(set(names)))

    def test_function_yaml_has_no_second_copy_of_the_labels(self):
        self.assertNotIn("spec", self.config["metadata"]["annotations"])
        self.assertNotIn("env", self.config["spec"])

    def test_cvat_annotations_and_nuclio_spec(self):
        meta, spec = self.config["metadata"], self.config["spec"]
        self.assertEqual(meta["name"], HERE.name)
        self.assertEqual(spec["runtime"], "python:3.11")
        self.assertEqual(spec["handler"], "main:handler")
        self.assertEqual(
            spec["triggers"],
            {"http": {"kind": "http", "numWorkers": 1, "attributes": {"maxRequestBodySize": 33554432}}},
        )
        self.assertEqual(spec["resources"], {"limits": {"nvidia.com/gpu": 1}})
        # The cluster's function says the same as this file.
        for path, fn in self.rendered:
            with self.subTest(path=str(path)):
                cvat = {k: v for k, v in fn["metadata"]["annotations"].items() if k != "spec"}
                self.assertEqual(cvat, meta["annotations"])
                self.assertEqual(fn["metadata"]["labels"], meta["labels"])
                for key in ("runtime", "handler", "eventTimeout", "triggers"):
                    self.assertEqual(fn["spec"][key], spec[key], key)
                gpus = fn["spec"].get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
                self.assertEqual(str(gpus), str(spec["resources"]["limits"]["nvidia.com/gpu"]))

    def test_build_matches_the_dockerfile(self):
        args = dockerfile_args()
        build = self.config["spec"]["build"]
        self.assertEqual(build["baseImage"], args["PYTHON_IMAGE"])
        directives = "\n".join(d["value"] for ds in build["directives"].values() for d in ds)
        for want in (
            f"--index-url {args['TORCH_INDEX_URL']} ",
            f"torch=={args['TORCH_VERSION']} ",
            f"torchvision=={args['TORCHVISION_VERSION']}\n",
            f"ultralytics=={args['ULTRALYTICS_VERSION']}\n",
            f"--url {args['YOLO11X_URL']} ",
            f'--sha256 "{args["YOLO11X_SHA256"]}" ',
            "--out " + main.WEIGHTS_PATH,
        ):
            self.assertIn(want, directives + "\n")


def dockerfile_args():
    """The ARG defaults declared before the Dockerfile's first FROM."""
    args = {}
    for line in (HERE / "Dockerfile").read_text().splitlines():
        if line.startswith("FROM "):
            break
        m = re.match(r"ARG (\w+)=(.*)$", line)
        if m:
            args[m.group(1)] = m.group(2)
    return args


class TestDockerfile(unittest.TestCase):
    def test_pins(self):
        args = dockerfile_args()
        for name in ("NUCLIO_VERSION", "TORCH_VERSION", "TORCHVISION_VERSION", "ULTRALYTICS_VERSION"):
            self.assertRegex(args[name], r"^\d+\.\d+\.\d+$", name)
        self.assertRegex(args["TORCH_INDEX_URL"], r"^https://download\.pytorch\.org/whl/cu\d+$")
        self.assertIn("YOLO11X_SHA256", args)
        self.assertRegex(args["YOLO11X_SHA256"], r"^([0-9a-f]{64})?$")

    def test_context_allowlist_is_what_the_dockerfile_copies(self):
        allowed = {
            line[1:]
            for line in (HERE / ".dockerignore").read_text().splitlines()
            if line.startswith("!")
        }
        copied = set()
        for line in (HERE / "Dockerfile").read_text().splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                copied.update(line.split()[1:-1])
        self.assertEqual(copied, allowed)
        for name in allowed:
            self.assertTrue((HERE / name).is_file(), name)

    def test_weights_path(self):
        self.assertIn(f"/opt/nuclio/yolo11x.pt", (HERE / "Dockerfile").read_text())
        self.assertEqual(main.WEIGHTS_PATH, "/opt/nuclio/yolo11x.pt")


class TestFetchWeights(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.src = pathlib.Path(self.dir.name, "weights.pt")
        self.src.write_bytes(b"weights" * 1000)
        self.url = self.src.as_uri()
        self.sha = hashlib.sha256(self.src.read_bytes()).hexdigest()
        self.out = pathlib.Path(self.dir.name, "out", "yolo11x.pt")

    def run_main(self, sha):
        stderr = io.StringIO()
        with mock.patch("sys.stderr", stderr), mock.patch("sys.stdout", io.StringIO()):
            code = fetch_weights.main(["--url", self.url, "--sha256", sha, "--out", str(self.out)])
        return code, stderr.getvalue()

    def test_matching_digest_writes_the_file(self):
        code, _ = self.run_main(self.sha.upper())
        self.assertEqual(code, 0)
        self.assertEqual(self.out.read_bytes(), self.src.read_bytes())

    def test_empty_digest_fails_and_says_how_to_pin_it(self):
        code, err = self.run_main("")
        self.assertEqual(code, 1)
        self.assertIn("no SHA-256 given", err)
        self.assertIn("sha256sum", err)
        self.assertFalse(self.out.exists())

    def test_malformed_digest_fails(self):
        code, err = self.run_main("abc123")
        self.assertEqual(code, 1)
        self.assertIn("is not 64 hex digits", err)

    def test_other_digest_fails_and_leaves_nothing(self):
        code, err = self.run_main("0" * 64)
        self.assertEqual(code, 1)
        self.assertIn(f"has SHA-256 {self.sha}, want {'0' * 64}", err)
        self.assertFalse(self.out.exists())
        self.assertEqual(os.listdir(self.out.parent), [])

    def test_unreachable_url_fails(self):
        self.url = pathlib.Path(self.dir.name, "missing.pt").as_uri()
        code, err = self.run_main(self.sha)
        self.assertEqual(code, 1)
        self.assertIn("fetch_weights: ", err)
        self.assertEqual(os.listdir(self.out.parent), [])


if __name__ == "__main__":
    unittest.main()
