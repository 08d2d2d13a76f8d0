"""The launch form: a short basic part and the rest under "advanced", every column headed, every dataset and
model kind the spec takes offered (from GET /api/catalog), "(edited)" after a change, and what was typed kept
across a reload until a reset to the lesson."""

import re
import typing

from playwright.sync_api import Page, expect

from normscope.schemas.spec import DatasetName, ModelKind
from tests.e2e.conftest import TOKEN, Server, screenshot


def open_form(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/?token={TOKEN}")
    expect(page.locator("#variants tbody tr").first).to_be_visible()


def test_the_basic_part_is_short_and_every_column_is_headed(page: Page, server: Server):
    page.set_viewport_size({"width": 1280, "height": 720})
    open_form(page, server)
    basic = page.locator("#spec-fields [data-path]")
    expect(basic).to_have_count(4)
    assert [basic.nth(i).get_attribute("data-path") for i in range(4)] == [
        "dataset.name",
        "model.kind",
        "optimizer.lr",
        "steps",
    ]
    expect(page.locator('[data-path="probe.bins"]')).to_be_hidden()  # under "advanced", folded
    page.click("#advanced > summary")
    expect(page.locator('[data-path="probe.bins"]')).to_be_visible()
    heads = page.locator("#variants thead th")
    cells = page.locator("#variants tbody tr").first.locator("td")
    expect(heads).to_have_count(cells.count())
    for i in range(cells.count() - 1):  # the last column holds the remove button
        assert heads.nth(i).inner_text().strip(), f"column {i} has no heading"
    screenshot(page, "form-1280x720")


def test_every_dataset_and_model_kind_is_offered(page: Page, server: Server):
    open_form(page, server)
    with server.client() as c:
        catalog = c.get("/api/catalog").json()
    assert catalog["datasets"] == list(typing.get_args(DatasetName))
    assert catalog["model_kinds"] == list(typing.get_args(ModelKind))
    offered = page.locator('[data-path="dataset.name"] option').evaluate_all("os => os.map((o) => o.value)")
    assert offered == catalog["datasets"]
    assert {"shapes", "mnist", "fashion_mnist", "cifar10"} <= set(offered)
    kinds = page.locator('[data-path="model.kind"] option').evaluate_all("os => os.map((o) => o.value)")
    assert kinds == catalog["model_kinds"]


def test_the_form_is_kept_across_a_reload_until_a_reset(page: Page, server: Server):
    open_form(page, server)
    page.select_option("#preset", "ioffe-szegedy")
    lr = page.locator('[data-path="optimizer.lr"]')
    expect(lr).to_have_value("0.5")
    expect(page.locator("#edited")).to_be_hidden()
    lr.fill("0.25")
    page.select_option('[data-path="dataset.name"]', "shapes")
    page.click("#add-variant")
    expect(page.locator("#edited")).to_be_visible()
    expect(page.locator("#edited")).to_have_text("(edited)")

    page.reload()
    expect(page.locator("#preset")).to_have_value("ioffe-szegedy")
    expect(lr).to_have_value("0.25")
    expect(page.locator('[data-path="dataset.name"]')).to_have_value("shapes")
    expect(page.locator("#variants tbody tr")).to_have_count(3)
    expect(page.locator("#edited")).to_be_visible()

    page.click("#reset")
    expect(lr).to_have_value("0.5")
    expect(page.locator('[data-path="dataset.name"]')).to_have_value("digits")
    expect(page.locator("#variants tbody tr")).to_have_count(2)
    expect(page.locator("#edited")).to_be_hidden()
    page.reload()
    expect(lr).to_have_value("0.5")
    expect(page.locator("#edited")).to_be_hidden()


def test_an_error_in_a_folded_field_opens_the_advanced_part(page: Page, server: Server):
    open_form(page, server)
    page.click("#advanced > summary")
    page.fill('[data-path="probe.bins"]', "1")
    page.click("#advanced > summary")  # folded again
    page.click("#start")
    expect(page.locator('[data-path="probe.bins"]')).to_be_visible()
    expect(page.locator('[data-path="probe.bins"]')).to_have_class(re.compile("invalid"))
