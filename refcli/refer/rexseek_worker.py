"""RexSeek worker: runs inside the RexSeek environment (transformers 4.38, torchvision), not refcli's.

    $REFCLI_REXSEEK_PYTHON rexseek_worker.py --model DIR --repo RexSeek-checkout [--device cuda]

Reads JSON lines {"image", "boxes": [[x0, y0, x1, y1]...], "question"} and answers {"text"} with
RexSeek's raw output, preprocessing exactly as its HumanRef evaluation does (the evaluation's own
dataset class is reused on a one-line question file). Not run by refcli's tests: this machine has
neither the checkpoint nor RexSeek's environment.
"""

import argparse
import json
import os
import sys
import tempfile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    sys.path.insert(0, args.repo)
    import torch
    from rexseek.builder import load_rexseek_model
    from rexseek.evaluation.evaluate_rexseek import create_data_loader, load_data_list

    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else (
        "cpu" if args.device == "auto" else args.device)
    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    tokenizer, model, image_processor, _ = load_rexseek_model(args.model, delay_load=False)
    model.to(device=device, dtype=dtype).eval()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            folder = os.path.dirname(request["image"])
            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as question:
                question.write(json.dumps({"id": 0, "image_name": os.path.basename(request["image"]),
                                           "referring": "", "candidate_boxes": request["boxes"],
                                           "answer_boxes": []}) + "\n")
            data = load_data_list(question.name, request["question"].replace("{expression}", "[OBJ]"))
            data[0]["question"] = request["question"]
            loader = create_data_loader(data, folder, None, tokenizer, image_processor, num_workers=0)
            input_ids, pixel_values, pixel_values_aux, gt_boxes = next(iter(loader))
            with torch.inference_mode():
                output = model.generate(
                    input_ids.to(device), pixel_values=pixel_values.to(device, dtype),
                    pixel_values_aux=pixel_values_aux.to(device, dtype), do_sample=False, max_new_tokens=512,
                    use_cache=True, gt_boxes=gt_boxes.to(device, dtype))
            text = tokenizer.batch_decode(output, skip_special_tokens=False)[0].strip()
            os.unlink(question.name)
            print(json.dumps({"text": text}), flush=True)
        except Exception as err:  # one bad request must not end the worker
            print(json.dumps({"error": f"{type(err).__name__}: {err}"}), flush=True)


if __name__ == "__main__":
    main()
