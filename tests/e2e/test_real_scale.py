"""Deep conv nets on the page: the form's new fields, 20 layers grouped by stage, histograms a page at a time,
images per second in the header."""

import re

from playwright.sync_api import Page, expect

from tests.api.conftest import wait_status
from tests.e2e.conftest import TOKEN, Server, wait_for


def resnet_spec(**over: object) -> dict:
    spec = {
        "name": "resnet-20 on shapes",
        "dataset": {"name": "shapes", "n_samples": 400},
        "model": {"kind": "resnet", "depth": 20, "width": 4, "activation": "relu", "init": "he"},
        "optimizer": {"lr": 0.05, "momentum": 0.9},
        "batch_size": 16,
        "steps": 40,
        "variants": [{"label": "plain"}, {"label": "BN", "norm": "batch"}],
        "probe": {"every": 10, "bins": 16, "eval_every": 2},
    }
    spec.update(over)
    return spec


def test_twenty_layers_are_grouped_by_stage_and_their_histograms_paged(page: Page, server: Server):
    with server.client() as c:
        eid = c.post("/api/experiments", json=resnet_spec()).json()["id"]
        wait_status(c, eid, {"done"}, timeout=120)
    page.set_viewport_size({"width": 1400, "height": 3000})
    page.goto(f"{server.url}/experiments/{eid}")
    expect(page.locator("#layer option")).to_have_count(20, timeout=30_000)
    groups = page.locator("#layer optgroup")
    expect(groups).to_have_count(3)
    assert [groups.nth(i).get_attribute("label") for i in range(3)] == ["stage1", "stage2", "stage3"]
    expect(groups.nth(2).locator("option")).to_have_count(6)

    # the last layer is chosen by default: its page (layers 13-20) shows, 8 small multiples
    expect(page.locator("#histograms .chart")).to_have_count(8)
    expect(page.locator("#hist-page")).to_contain_text("stage2.block3.conv2 – output (20 layers)")
    page.click("#hist-prev")
    expect(page.locator("#histograms .chart")).to_have_count(12)
    expect(page.locator("#hist-page")).to_contain_text("stem – stage2.block3.conv1")
    wait_for(page, "ns.renderer.report()['chart-hist-0'].traces > 0")
    page.select_option("#layer", "stage3.block2.conv2")  # a layer on the other page brings its page back
    expect(page.locator("#hist-page")).to_contain_text("(20 layers)")
    expect(page.locator("#histograms .chart")).to_have_count(8)
    expect(page.locator("#hist-next")).to_be_disabled()


def test_images_per_second_show_beside_the_eta(page: Page, server: Server):
    with server.client() as c:
        eid = c.post(
            "/api/experiments", json=resnet_spec(steps=100_000, probe={"every": 5, "bins": 16})
        ).json()["id"]
    page.goto(f"{server.url}/experiments/{eid}?token={TOKEN}")
    rate = page.locator("#speed-rate")
    expect(rate).to_have_text(re.compile(r"^[\d,]+ img/s$"), timeout=60_000)
    expect(page.locator("#eta")).to_have_text(re.compile("ETA"))
    assert int(rate.text_content().split()[0].replace(",", "")) > 0
    with server.client() as c:
        c.post(f"/api/experiments/{eid}/control", json={"action": "cancel"})


def test_the_form_launches_a_vgg_on_shapes_with_its_new_fields(page: Page, server: Server):
    page.goto(f"{server.url}/?token={TOKEN}")
    page.select_option('[data-path="dataset.name"]', "shapes")
    page.click("#advanced > summary")  # the rest are advanced fields
    page.fill('[data-path="dataset.n_samples"]', "300")
    page.select_option('[data-path="dataset.augment"]', "true")
    page.select_option('[data-path="model.kind"]', "vgg")
    page.fill('[data-path="model.depth"]', "11")
    page.fill('[data-path="model.width"]', "4")
    page.fill('[data-path="model.hidden"]', "")
    page.select_option('[data-path="model.activation"]', "relu")
    page.select_option('[data-path="precision"]', "bf16")
    page.fill('[data-path="steps"]', "20")
    page.fill('[data-path="batch_size"]', "16")
    page.click("#start")
    page.wait_for_url(re.compile(r"/experiments/\w+"))
    eid = page.url.split("/experiments/")[1].split("?")[0]
    with server.client() as c:
        spec = c.get(f"/api/experiments/{eid}").json()["spec"]
        assert spec["model"]["kind"] == "vgg" and spec["model"]["depth"] == 11 and spec["model"]["width"] == 4
        assert spec["dataset"]["augment"] is True and spec["precision"] == "bf16"
        assert wait_status(c, eid, {"done", "failed"}, timeout=120)["status"] == "done"
    expect(page.locator("#layer optgroup")).to_have_count(5)
