#!/usr/bin/env python3
"""Drives the tenant web page of `handover serve` in headless Chromium, as a person would.

Usage: scripts/browser-test.py BASE_URL TENANT_TOKEN OTHER_REQUEST_ID OUT_DIR

BASE_URL          the server, e.g. http://127.0.0.1:8080 (it runs a worker, so exports complete)
TENANT_TOKEN      a tenant token of a tenant that may sign in
OTHER_REQUEST_ID  a request of another tenant, which must never show on this tenant's page
OUT_DIR           where downloads (OUT_DIR/downloads) and the screenshot (OUT_DIR/tenant-page.png) go

Uses Selenium 4 with Debian's chromium and chromedriver (scripts/install-deps.sh installs them). Every step
asserts what the page must show; the first deviation prints a clear message on stderr and exits 1. The last
line on stdout is `browser-test: OK (<n> steps)`.
"""

import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    from selenium import webdriver
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        TimeoutException,
        WebDriverException,
    )
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("browser-test: Selenium 4 is missing; run scripts/install-deps.sh", file=sys.stderr)
    sys.exit(1)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PAGE_WAIT = 20  # seconds for a page or an element to appear
COMPLETION_WAIT = 180  # seconds for the worker to complete an export
REFRESH_EVERY = 2  # seconds between reloads while waiting for completion
DOWNLOAD_WAIT = 120  # seconds for a download to finish
WRONG_TOKEN = "hov_t_0000000000000000_" + "A" * 43
IGNORED = (NoSuchElementException, StaleElementReferenceException)


class Failure(Exception):
    """A deviation of the page from what it must show."""


class BrowserTest:
    def __init__(self, base, token, other_request, out_dir):
        self.base = base.rstrip("/")
        self.token = token
        self.other_request = other_request
        self.out_dir = os.path.abspath(out_dir)
        self.downloads = os.path.join(self.out_dir, "downloads")
        self.steps = 0
        self.driver = None

    # MARK: Running

    def run(self):
        os.makedirs(self.downloads, exist_ok=True)
        self.driver = self.start_browser()
        try:
            self.step("the sign-in page's headers and HTML (CSP, no script, no inline style)", self.sign_in_http)
            self.step("the sign-in page in the browser (structure and labels)", self.sign_in_page)
            self.step("sign in with the keyboard", self.sign_in)
            existing = self.step("the exports list shows only this tenant's exports", self.exports_list)
            new_id = self.step("request a new full export", lambda: self.request_export(existing))
            self.step("the new export completes", lambda: self.wait_completed(new_id))
            self.step("download the export's archive", lambda: self.download(new_id))
            self.step("screenshot of the exports page", self.screenshot)
            self.step("sign out", self.sign_out)
            self.step("the exports list needs a session again", self.exports_need_session)
            self.step("a wrong token is refused with an alert", self.wrong_token)
        finally:
            try:
                self.driver.quit()
            except Exception:  # noqa: BLE001 - quitting must never hide the test's own outcome
                pass
        print(f"browser-test: OK ({self.steps} steps)")

    def step(self, name, action):
        self.steps += 1
        print(f"step {self.steps}: {name}", flush=True)
        try:
            return action()
        except Failure:
            raise
        except TimeoutException as error:
            raise Failure(f"{name}: timed out ({error.msg or 'no detail'}) at {self.where()}") from error
        except WebDriverException as error:
            raise Failure(f"{name}: the browser failed: {error.msg} at {self.where()}") from error

    def start_browser(self):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--window-size=1280,900",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--lang=en-US",
        ):
            options.add_argument(argument)
        options.add_experimental_option(
            "prefs",
            {
                "download.default_directory": self.downloads,
                "download.prompt_for_download": False,
                "download.directory_upgrade": True,
                "safebrowsing.enabled": True,
                "profile.default_content_setting_values.automatic_downloads": 1,
            },
        )
        try:
            driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        except WebDriverException as error:
            raise Failure(f"could not start headless Chromium through {CHROMEDRIVER}: {error.msg}") from error
        driver.set_window_size(1280, 900)
        driver.set_page_load_timeout(60)
        # Headless Chromium honours the prefs above; this makes sure downloads are allowed there without a prompt.
        try:
            driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": self.downloads})
        except WebDriverException:
            pass
        return driver

    # MARK: Steps

    def sign_in_http(self):
        url = self.base + "/ui"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=PAGE_WAIT) as response:
                status = response.status
                csp = response.headers.get("Content-Security-Policy")
                html = response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as error:
            raise Failure(f"GET {url} answered {error.code}, not 200") from error
        except OSError as error:
            raise Failure(f"GET {url} failed: {error}") from error
        check(status == 200, f"GET {url} answered {status}, not 200")
        check(csp is not None, f"GET {url} has no Content-Security-Policy header")
        check("default-src 'none'" in csp, f"the Content-Security-Policy of {url} lacks \"default-src 'none'\": {csp}")
        self.no_script_or_inline_style(html, url)
        check('id="token"' in html, f"GET {url} has no element with id=\"token\"")

    def no_script_or_inline_style(self, html, where):
        check(re.search(r"<script", html, re.I) is None, f"{where} holds a <script")
        check(re.search(r"<style", html, re.I) is None, f"{where} holds a <style element")
        match = re.search(r"<[^>]*\sstyle\s*=", html, re.I)
        check(match is None, f"{where} has an inline style= attribute: {match.group(0)[:120] if match else ''}")

    def sign_in_page(self):
        self.driver.get(self.base + "/ui")
        self.expect_sign_in_page("GET /ui")

    def wrong_token(self):
        self.driver.delete_all_cookies()
        self.driver.get(self.base + "/ui")
        self.expect_sign_in_page("GET /ui (fresh)")
        field = self.driver.find_element(By.ID, "token")
        field.clear()
        field.send_keys(WRONG_TOKEN)
        self.driver.find_element(By.ID, "sign-in").click()
        alert = self.wait(
            lambda d: first_displayed(d.find_elements(By.CSS_SELECTOR, "[role=alert]")),
            "an element [role=alert] after signing in with a wrong token",
        )
        text = alert.text.strip()
        check(text != "", "the [role=alert] after a wrong token is empty")
        self.expect_sign_in_page("after a wrong token")
        check(
            not self.driver.find_elements(By.ID, "exports"),
            "a wrong token shows the exports table, not the sign-in page",
        )
        print(f"  alert: {text}")

    def sign_in(self):
        self.driver.delete_all_cookies()
        self.driver.get(self.base + "/ui")
        self.expect_sign_in_page("GET /ui before signing in")
        token_field = self.driver.find_element(By.ID, "token")
        # Reach the token field with the keyboard alone: Tab from the top of the page.
        for _ in range(10):
            if self.driver.switch_to.active_element == token_field:
                break
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
        check(
            self.driver.switch_to.active_element == token_field,
            "the token field (#token) cannot be reached with the Tab key within 10 presses",
        )
        ActionChains(self.driver).send_keys(self.token).send_keys(Keys.ENTER).perform()
        self.wait(lambda d: urlpath(d.current_url) == "/ui/exports", "to land on /ui/exports after signing in")
        self.expect_exports_page("after signing in")

    def exports_list(self):
        rows = self.expect_exports_page("the exports list")
        return set(rows)

    def request_export(self, existing):
        button = self.driver.find_element(By.ID, "request-export")
        check(button.tag_name == "button", f"#request-export is a <{button.tag_name}>, not a <button>")
        form = button.find_element(By.XPATH, "ancestor::form")
        csrf = form.find_elements(By.CSS_SELECTOR, "input[type=hidden][name=csrf]")
        check(
            csrf and (csrf[0].get_attribute("value") or "") != "",
            "the form of #request-export has no hidden csrf input with a value",
        )
        old_page = self.driver.find_element(By.TAG_NAME, "html")
        button.click()
        self.wait(lambda d: is_stale(old_page), "the page to reload after requesting an export")
        self.wait(
            lambda d: urlpath(d.current_url) == "/ui/exports",
            "to come back to /ui/exports after requesting an export",
        )
        rows = self.wait(
            lambda d: (lambda r: r if len(set(r) - existing) >= 1 else False)(self.rows()),
            "a new row in #exports after requesting an export",
        )
        new = set(rows) - existing
        check(len(new) == 1, f"requesting one export added {len(new)} rows: {sorted(new)}")
        check(existing <= set(rows), f"rows disappeared after requesting an export: {sorted(existing - set(rows))}")
        new_id = new.pop()
        self.expect_exports_page("after requesting an export")
        print(f"  new export: {new_id} ({rows[new_id]})")
        return new_id

    def wait_completed(self, request_id):
        deadline = time.monotonic() + COMPLETION_WAIT
        state = None
        while True:
            state = self.rows().get(request_id, state)
            if state == "completed":
                break
            check(state not in ("failed", "cancelled", "expired"), f"export {request_id} ended {state}, not completed")
            if time.monotonic() >= deadline:
                raise Failure(f"export {request_id} is still {state} after {COMPLETION_WAIT} s")
            time.sleep(REFRESH_EVERY)
            self.driver.refresh()
            self.wait(lambda d: d.execute_script("return document.readyState") == "complete", "the page to reload")
        self.expect_exports_page("with the export completed")

    def download(self, request_id):
        row = self.row(request_id)
        links = row.find_elements(By.CSS_SELECTOR, "a.download")
        check(links, f"the completed row of {request_id} has no a.download link")
        link = links[0]
        href = link.get_attribute("href") or ""
        expected = f"/ui/exports/{request_id}/archive"
        check(urlpath(href) == expected, f"the download link of {request_id} points to {href}, not {expected}")
        check(link.text.strip() != "", "the download link has no visible text")
        before = set(os.listdir(self.downloads))
        link.click()

        def finished(_):
            now = set(os.listdir(self.downloads)) - before
            partial = [name for name in now if name.endswith(".crdownload") or name.startswith(".")]
            done = [name for name in now if name not in partial]
            if partial or not done:
                return False
            path = os.path.join(self.downloads, sorted(done)[0])
            return path if os.path.getsize(path) > 0 else False

        path = WebDriverWait(self.driver, DOWNLOAD_WAIT, poll_frequency=0.5).until(
            finished, f"a complete file in {self.downloads} within {DOWNLOAD_WAIT} s"
        )
        check(
            urlpath(self.driver.current_url) == "/ui/exports",
            f"downloading left the exports page for {self.driver.current_url}",
        )
        print(f"downloaded: {path}")

    def screenshot(self):
        if urlpath(self.driver.current_url) != "/ui/exports":
            self.driver.get(self.base + "/ui/exports")
        self.expect_exports_page("before the screenshot")
        path = os.path.join(self.out_dir, "tenant-page.png")
        check(self.driver.save_screenshot(path), f"could not save a screenshot to {path}")
        check(os.path.getsize(path) > 0, f"the screenshot {path} is empty")
        print(f"  screenshot: {path}")

    def sign_out(self):
        button = self.driver.find_element(By.ID, "sign-out")
        check(button.tag_name == "button", f"#sign-out is a <{button.tag_name}>, not a <button>")
        button.find_element(By.XPATH, "ancestor::form")
        old_page = self.driver.find_element(By.TAG_NAME, "html")
        button.click()
        self.wait(lambda d: is_stale(old_page), "the page to change after signing out")
        self.wait(lambda d: d.find_elements(By.ID, "token"), "the sign-in page after signing out")
        self.expect_sign_in_page("after signing out")

    def exports_need_session(self):
        self.driver.get(self.base + "/ui/exports")
        self.wait(
            lambda d: d.find_elements(By.ID, "token") or d.find_elements(By.ID, "exports"),
            "a page at /ui/exports",
        )
        check(
            not self.driver.find_elements(By.ID, "exports") and not self.driver.find_elements(By.ID, "request-export"),
            "after signing out, /ui/exports still shows the exports list",
        )
        self.expect_sign_in_page("GET /ui/exports after signing out")
        check(
            urlpath(self.driver.current_url) == "/ui",
            f"GET /ui/exports after signing out ends at {self.driver.current_url}, not /ui",
        )

    # MARK: Page contracts

    def expect_sign_in_page(self, when):
        d = self.driver
        self.wait(lambda d: d.find_elements(By.TAG_NAME, "h1"), f"an <h1> on the sign-in page ({when})")
        check(
            d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en",
            f"the sign-in page ({when}) is not <html lang=\"en\">",
        )
        check(d.find_element(By.TAG_NAME, "h1").text.strip() != "", f"the sign-in page's <h1> ({when}) is empty")
        forms = [
            f for f in d.find_elements(By.TAG_NAME, "form") if urlpath(f.get_attribute("action") or "") == "/ui/sign-in"
        ]
        check(forms, f"the sign-in page ({when}) has no form posting to /ui/sign-in")
        form = forms[0]
        check(
            (form.get_attribute("method") or "").lower() == "post",
            f"the sign-in form ({when}) does not use method=post",
        )
        token = form.find_elements(By.ID, "token")
        check(token, f"the sign-in form ({when}) has no #token")
        token = token[0]
        check(token.tag_name == "input", f"#token ({when}) is a <{token.tag_name}>, not an <input>")
        check(
            token.get_attribute("name") == "token",
            f"#token ({when}) has name={token.get_attribute('name')!r}, not 'token'",
        )
        check(
            token.get_attribute("type") == "password",
            f"#token ({when}) has type={token.get_attribute('type')!r}, not 'password'",
        )
        check(
            form.find_elements(By.CSS_SELECTOR, "label[for=token]"),
            f"the sign-in form ({when}) has no <label for=\"token\">",
        )
        buttons = form.find_elements(By.ID, "sign-in")
        check(buttons and buttons[0].tag_name == "button", f"the sign-in form ({when}) has no <button id=\"sign-in\">")
        check(buttons[0].get_attribute("type") == "submit", f"#sign-in ({when}) is not type=submit")
        self.inputs_labelled(when)
        self.no_script_or_inline_style(d.page_source, f"the sign-in page ({when})")
        check(self.other_request not in d.page_source, f"the sign-in page ({when}) shows the other tenant's request")

    def inputs_labelled(self, when):
        d = self.driver
        for field in d.find_elements(By.CSS_SELECTOR, "input, select, textarea"):
            if (field.get_attribute("type") or "").lower() == "hidden" or not field.is_displayed():
                continue
            ident = field.get_attribute("id") or ""
            labelled = (
                (ident and d.find_elements(By.CSS_SELECTOR, f'label[for="{ident}"]'))
                or field.find_elements(By.XPATH, "ancestor::label")
                or (field.get_attribute("aria-label") or "").strip()
                or (field.get_attribute("aria-labelledby") or "").strip()
            )
            check(labelled, f"a visible <{field.tag_name} name={field.get_attribute('name')!r}> ({when}) has no label")

    def expect_exports_page(self, when):
        """Checks the exports page and returns its rows, request id -> state.

        While an export is in progress the page reloads itself (meta refresh), so a check that meets a
        replaced page starts again on the new one."""
        for _ in range(5):
            try:
                return self.check_exports_page(when)
            except WebDriverException as error:
                if not replaced(error):
                    raise
                time.sleep(0.25)
        return self.check_exports_page(when)

    def check_exports_page(self, when):
        d = self.driver
        self.wait(lambda d: d.find_elements(By.ID, "request-export"), f"the exports page ({when})")
        check(
            urlpath(d.current_url) == "/ui/exports",
            f"the exports page ({when}) is at {d.current_url}, not /ui/exports",
        )
        check(
            d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en",
            f"the exports page ({when}) is not <html lang=\"en\">",
        )
        h1 = d.find_elements(By.TAG_NAME, "h1")
        check(
            h1 and "Exports" in h1[0].text,
            f"the exports page's <h1> ({when}) does not contain 'Exports': {h1[0].text if h1 else 'no <h1>'}",
        )
        tables = d.find_elements(By.CSS_SELECTOR, "table#exports")
        rows = self.rows()
        if not tables:
            # The list is empty before the first export: the page says so instead of showing an empty table.
            check(not rows, f"the exports page ({when}) has rows but no table#exports")
            check(
                d.find_elements(By.ID, "no-exports"),
                f"the exports page ({when}) has neither table#exports nor #no-exports",
            )
        for ident, state in rows.items():
            check(ident and state, f"a row of #exports ({when}) lacks data-request or data-state: {ident!r} {state!r}")
        button = d.find_element(By.ID, "request-export")
        csrf = button.find_elements(By.XPATH, "ancestor::form//input[@type='hidden'][@name='csrf']")
        check(csrf, f"the form of #request-export ({when}) has no hidden csrf input")
        check(d.find_elements(By.ID, "sign-out"), f"the exports page ({when}) has no #sign-out")
        self.inputs_labelled(when)
        source = d.page_source
        check(
            self.other_request not in source,
            f"the exports page ({when}) shows the other tenant's request {self.other_request}",
        )
        self.no_script_or_inline_style(source, f"the exports page ({when})")
        return rows

    def rows(self):
        """The rows of #exports, request id -> state, read again if the page reloads meanwhile."""
        for _ in range(20):
            try:
                return {
                    row.get_attribute("data-request"): row.get_attribute("data-state")
                    for row in self.driver.find_elements(By.CSS_SELECTOR, "#exports tr[data-request]")
                }
            except WebDriverException as error:
                if not replaced(error):
                    raise
                time.sleep(0.25)
        raise Failure(f"the rows of #exports kept changing while being read at {self.where()}")

    def row(self, request_id):
        return self.wait(
            lambda d: d.find_element(By.CSS_SELECTOR, f'#exports tr[data-request="{request_id}"]'),
            f"the row of export {request_id}",
        )

    # MARK: Helpers

    def wait(self, condition, what, timeout=PAGE_WAIT):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.25, ignored_exceptions=IGNORED).until(condition)
        except TimeoutException as error:
            raise Failure(f"waited {timeout} s for {what}; at {self.where()}") from error

    def where(self):
        try:
            title = self.driver.title
            return f"{self.driver.current_url} (title {title!r})"
        except Exception:  # noqa: BLE001 - only for messages
            return "an unknown page"


def check(condition, message):
    if not condition:
        raise Failure(message)


def urlpath(url):
    return urllib.parse.urlsplit(url).path.rstrip("/") or "/"


def replaced(error):
    """Whether `error` says that an element's page was replaced (a reload, a redirect, the meta refresh): Selenium's
    stale element, or the "does not belong to the document" that chromedriver reports instead while the new page
    is being loaded."""
    return isinstance(error, StaleElementReferenceException) or "does not belong to the document" in (error.msg or "")


def is_stale(element):
    try:
        element.is_enabled()
        return False
    except WebDriverException as error:
        if replaced(error):
            return True
        raise


def first_displayed(elements):
    for element in elements:
        try:
            if element.is_displayed():
                return element
        except WebDriverException as error:
            if not replaced(error):
                raise
            continue
    return False


def main(argv):
    if len(argv) != 5:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    test = BrowserTest(*argv[1:])
    try:
        test.run()
    except Failure as failure:
        print(f"browser-test: FAILED at step {test.steps}: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
