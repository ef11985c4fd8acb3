"""Drives the setup page in headless Chromium, as a customer's IT admin would.

Started by scripts/browser.sh with the example server's banner in the environment. Opens
the setup link, rotates the token, checks that the old token is refused by the SCIM
endpoint and the new one accepted, runs the page's connection check, and waits for the
requests to appear in the page's log. Saves a screenshot to $SCREENSHOT.
"""

import os
import sys
import tempfile
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

SCIM_BASE = os.environ["SCIM_BASE_URL"]
OLD_TOKEN = os.environ["SCIM_BEARER_TOKEN"]
SETUP_LINK = os.environ["SETUP_LINK"]
SCREENSHOT = os.environ.get("SCREENSHOT", "target/browser/setup-page.png")


def scim_status(token: str) -> int:
    request = urllib.request.Request(
        SCIM_BASE + "/Users?count=1",
        headers={"Authorization": "Bearer " + token, "User-Agent": "browser-test curl"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def check(condition: bool, message: str) -> None:
    if not condition:
        print("FAIL:", message, file=sys.stderr)
        sys.exit(1)
    print("ok:", message)


def main() -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,1800",
        "--user-data-dir=" + tempfile.mkdtemp(prefix="scimkit-chromium-"),
    ]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 20)
    try:
        check(scim_status(OLD_TOKEN) == 200, "the banner's token opens the SCIM endpoint")
        driver.get(SETUP_LINK)
        wait.until(ec.presence_of_element_located((By.ID, "scim-base-url")))
        check("Set up SCIM provisioning" in driver.title, "the link opens the setup page")
        base = driver.find_element(By.ID, "scim-base-url").text
        check(base == SCIM_BASE, f"the page shows the SCIM base URL ({base})")
        state = driver.find_element(By.ID, "state").text
        check(state in ("pending", "active"), f"the directory's state is shown ({state})")
        check(
            driver.find_element(By.ID, "idp-okta").find_element(By.TAG_NAME, "summary").text
            == "Okta",
            "Okta's steps are there",
        )

        driver.find_element(By.ID, "rotate").click()
        wait.until(ec.visibility_of_element_located((By.ID, "token-box")))
        new_token = driver.find_element(By.ID, "token").text
        check(new_token.startswith("scimkit_bearer_"), "rotation shows a new token once")
        check(scim_status(OLD_TOKEN) == 401, "the old token is refused after rotation")
        check(scim_status(new_token) == 200, "the new token opens the SCIM endpoint")

        driver.find_element(By.ID, "test").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "test-result"), "Success"))
        check(True, "the page's connection check succeeds with the new token")
        wait.until(ec.text_to_be_present_in_element((By.ID, "requests"), "401"))
        rows = driver.find_element(By.ID, "requests").text
        check("GET /scim/v2/" in rows and "200" in rows, "the requests appear in the page's log")
        check("browser-test curl" in rows, "with the client that sent them")

        os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
        driver.save_screenshot(SCREENSHOT)
        print("screenshot:", SCREENSHOT)

        driver.get(SETUP_LINK)
        wait.until(ec.presence_of_element_located((By.ID, "refusal")))
        check(
            "already used" in driver.find_element(By.ID, "refusal").text,
            "the link does not open twice",
        )
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
