#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The browser cases of the Certificates page, TAP on stdout.

Run by tests/browser/run.sh, which boots the container, starts Cockpit and
vertex-certd in it, forwards their ports to VX_HOST_ADDR and makes the test
bundles in VX_WORK/pki. Every case starts Chromium with a fresh profile and
saves a screenshot in VX_SCREENSHOTS. What the page claims is checked
against the daemon (busctl) and the endpoints (a TLS handshake).
"""

import base64
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

LEADER = os.environ["VX_LEADER"]
WORK = os.environ["VX_WORK"]
HOST = os.environ["VX_HOST_ADDR"]
NAME = os.environ["VX_SERVER_NAME"]
SHOTS = os.environ["VX_SCREENSHOTS"]
PASSWORDS = {"vxadmin": os.environ["VX_ADMIN_PASSWORD"], "vxviewer": os.environ["VX_VIEWER_PASSWORD"]}
COCKPIT = f"https://{NAME}:9090"
PAGE_FRAME = "iframe[name='cockpit1:localhost/vertex-certificates']"
ENDPOINT_PORTS = (8443, 8444, 8445)
# cockpit-tls exits 90 s after its last connection closes (its
# --idle-timeout default); the rest is for the browser to let go and for a
# loaded machine.
COCKPIT_IDLE_WAIT = 300


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def diag(text):
    for line in str(text).splitlines():
        print(f"#   {line}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the machine

def container(*argv, check_rc=True):
    result = subprocess.run(["nsenter", "-t", LEADER, "-a", "--", *argv],
                            capture_output=True, text=True, timeout=60)
    if check_rc and result.returncode != 0:
        raise Failure(f"{' '.join(argv)}: {result.stderr.strip()}")
    return result.stdout


def prop(name):
    out = container("busctl", "get-property", "org.vertex.Certificates", "/org/vertex/Certificates",
                    "org.vertex.Certificates", name).strip()
    value = out.split(" ", 1)[1]
    return value.strip('"')


def n_generations():
    """How many generations the daemon lists: busctl prints 'a(tssstt) N …'."""
    out = container("busctl", "call", "org.vertex.Certificates", "/org/vertex/Certificates",
                    "org.vertex.Certificates", "ListGenerations").split()
    return int(out[1])


def pki(name, part):
    return os.path.join(WORK, "pki", name, part)


def read(path):
    with open(path) as f:
        return f.read()


def file_fp(path):
    der = ssl.PEM_cert_to_DER_cert(read(path).split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
    return fingerprint(der)


def fingerprint(der):
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def served_fp(port):
    """The leaf an endpoint serves, by a TLS handshake from the host."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((HOST, port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=NAME) as tls:
            return fingerprint(tls.getpeercert(binary_form=True))


def all_serve(fp):
    served = {port: served_fp(port) for port in ENDPOINT_PORTS}
    check(all(v == fp for v in served.values()), f"endpoints serve {served}, expected {fp}")


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise Failure(f"timed out after {timeout} s waiting for {what}")


# ---------------------------------------------------------------- the browser

class Browser:
    def __init__(self, case, trust_ca=None, insecure=True, width=1280, height=800):
        self.case = case
        self.home = tempfile.mkdtemp(prefix="vx-browser-", dir=WORK)
        if trust_ca:
            nssdb = os.path.join(self.home, ".pki", "nssdb")
            os.makedirs(nssdb)
            subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
            subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "uploaded authority",
                            "-i", trust_ca], check=True)
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", f"--window-size={width},{height}",
                     f"--user-data-dir={os.path.join(self.home, 'profile')}",
                     f"--host-resolver-rules=MAP {NAME} {HOST}"):
            options.add_argument(flag)
        options.accept_insecure_certs = insecure
        # Chromium reads the NSS database of $HOME: this profile's own.
        env = dict(os.environ, HOME=self.home)
        service = Service("/usr/bin/chromedriver", env=env)
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(60)

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    def shot(self, suffix="", show=None):
        """A PNG of the window; SHOW: a selector (in the current frame) scrolled into view first."""
        if show:
            self.driver.execute_script(
                "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView({block: 'center'});", show)
        path = os.path.join(SHOTS, f"{self.case}{suffix}.png")
        self.driver.save_screenshot(path)
        return path

    def wait(self, what, predicate, timeout=30):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(lambda d: predicate())
        except TimeoutException:
            raise Failure(f"timed out after {timeout} s waiting for {what}") from None

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def text(self, css):
        # textContent: .text is empty for what is scrolled out of its box.
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css)

    def visible(self, css):
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]);"
            "return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0;", css)

    # -------- Cockpit

    def login(self, user):
        self.driver.get(COCKPIT + "/")
        # The form is in the page before it is shown: wait until it can be typed into.
        self.wait("the login form", lambda: any(e.is_displayed() for e in self.driver.find_elements(By.ID, "login-user-input")))
        self.find("#login-user-input").send_keys(user)
        self.find("#login-password-input").send_keys(PASSWORDS[user])
        self.find("#login-button").click()
        self.wait("the shell after login", lambda: self.driver.find_elements(By.CSS_SELECTOR, "#super-user-indicator"))

    def become_admin(self, user):
        self.driver.switch_to.default_content()
        self.wait("the 'Limited access' button",
                  lambda: "Limited access" in (self.text("#super-user-indicator") or ""))
        self.find("#super-user-indicator button").click()
        self.wait("the administrative access dialog",
                  lambda: self.driver.find_elements(By.CSS_SELECTOR, ".pf-c-modal-box input[type=password]"))
        field = self.find(".pf-c-modal-box input[type=password]")
        field.send_keys(PASSWORDS[user])
        field.send_keys(Keys.ENTER)
        self.wait("administrative access", lambda: "Administrative access" in (self.text("#super-user-indicator") or ""),
                  timeout=60)

    def open_page(self):
        self.driver.switch_to.default_content()
        self.driver.get(COCKPIT + "/vertex-certificates")
        self.wait("the page's frame", lambda: self.driver.find_elements(By.CSS_SELECTOR, PAGE_FRAME))
        self.enter_page()
        self.wait("the served certificate", lambda: self.visible("#content") and self.text("#cert-fingerprint") not in (None, "", "—"))

    def enter_page(self):
        self.driver.switch_to.default_content()
        self.driver.switch_to.frame(self.find(PAGE_FRAME))

    # -------- the form

    def paste(self, field, text):
        self.driver.execute_script(
            "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
            "e.dispatchEvent(new Event('input', { bubbles: true }));", f"field-{field}", text)

    def paste_bundle(self, cert, key, ca):
        for field, text in (("certificate", cert), ("key", key), ("authority", ca)):
            self.paste(field, text)

    def upload(self, field, path):
        self.find(f"#file-{field}").send_keys(path)

    def wait_valid(self):
        self.wait("the verdict 'valid'", lambda: "The bundle is valid" in (self.text("#verdict") or ""))
        check(self.find("#save").is_enabled(), "Save is disabled for a valid bundle")

    def wait_refusal(self, field, error):
        help_css = f"#help-{field}"
        self.wait(f"{error} at the {field} field",
                  lambda: (self.text(help_css) or "").startswith(f"{error}: ")
                  and "pf-m-error" in self.find(help_css).get_attribute("class"))
        check(not self.find("#save").is_enabled(), f"Save is enabled although the bundle is refused ({error})")
        check(self.find(f"#field-{field}").get_attribute("aria-invalid") == "true", f"#field-{field} not marked invalid")
        return self.text(help_css)

    def save(self):
        self.find("#save").click()
        self.wait("the result of Save", lambda: (self.text("#save-result") or "").strip() != "", timeout=120)
        return self.text("#save-result")

    def no_horizontal_scroll(self):
        sizes = self.driver.execute_script(
            "const s = document.scrollingElement; return [s.scrollWidth, s.clientWidth];")
        check(sizes[0] <= sizes[1], f"the page scrolls horizontally: {sizes[0]} px in {sizes[1]} px")


# ---------------------------------------------------------------- cases

def bundle(name):
    return read(pki(name, "fullchain.pem")), read(pki(name, "key.pem")), read(pki(name, "ca.pem"))


def t_viewer_read_only(b):
    """a user without admin access: sees the served certificate, Validate works, Save is refused"""
    before = prop("Fingerprint")
    b.login("vxviewer")
    b.open_page()
    check(b.text("#cert-fingerprint") == before, f"page shows {b.text('#cert-fingerprint')}, served {before}")
    check(b.visible("#access-hint"), "no sentence about administrative access")
    check("Administrative access is needed" in b.text("#access-hint"), "the access hint does not say why")
    check(b.visible("#banners .pf-m-warning"), "no banner for the self-signed default")
    b.paste_bundle(*bundle("good-a"))
    b.wait_valid()
    result = b.save()
    b.shot(show="#save-result")
    check("Administrative access is needed to change the certificate" in result, f"Save said: {result}")
    check(prop("Fingerprint") == before, "the served certificate changed")
    all_serve(before)


def t_admin_paste(b):
    """an administrator pastes a valid bundle; Save installs it on 8443, 8444 and 8445"""
    b.login("vxadmin")
    b.open_page()
    # Administrative access turned on while the page is open: it switches by itself.
    b.wait("the limited-access sentence", lambda: b.visible("#access-hint"))
    b.become_admin("vxadmin")
    b.enter_page()
    b.wait("the page to leave limited access", lambda: not b.visible("#access-hint"))
    b.shot("-1280x800")
    # The whole page at once, for the README.
    b.driver.set_window_size(1280, 1900)
    b.shot("-overview")
    b.driver.set_window_size(1280, 800)
    b.paste_bundle(*bundle("good-a"))
    b.wait_valid()
    check("covered" in b.text("#names-certificate") and NAME in b.text("#names-certificate"),
          f"names line: {b.text('#names-certificate')}")
    result = b.save()
    expected = file_fp(pki("good-a", "fullchain.pem"))
    check("Installed: generation" in result and expected in result, f"Save said: {result}")
    b.wait("the page to show the new certificate", lambda: b.text("#cert-fingerprint") == expected)
    check(all(b.find(f"#field-{f}").get_attribute("value") == "" for f in ("certificate", "key", "authority")),
          "the fields were not cleared after success")
    b.shot(show="#save-result")
    all_serve(expected)
    check(prop("Fingerprint") == expected, "the daemon serves something else")


def set_access_names(value):
    """Writes (or with None removes) a certd.conf.d drop-in with AccessNames= and reloads vertex-certd."""
    path = "/etc/vertex-certd/certd.conf.d/70-browser-names.conf"
    if value is None:
        container("rm", "-f", path)
    else:
        container("sh", "-c", f"printf '[Certificates]\\nAccessNames=%s\\n' '{value}' >{path}")
    container("systemctl", "reload", "vertex-certd.service")


def t_name_mismatch(b):
    """a load balancer address added to the names: the page lists it, a banner says the certificate lacks it"""
    before = prop("Fingerprint")
    b.login("vxviewer")
    b.open_page()
    try:
        set_access_names("192.0.2.10 2001:DB8:0::10")
        b.wait("the name-mismatch banner", lambda: "does not cover every name" in b.text("#banners"))
        check("192.0.2.10" in b.text("#banners"), f"the banner does not name the address: {b.text('#banners')}")
        names = b.text("#names-certificate")
        check(NAME in names and "192.0.2.10" in names and "2001:DB8:0::10" in names, f"required names shown: {names}")
        b.shot(show="#banners")
        check(prop("Fingerprint") == before, "the uploaded certificate was replaced")

        # A bundle for the name and the IPv6 address (the certificate says 2001:db8::10), not
        # the IPv4 one: each required name is marked as Validate sees it.
        b.paste_bundle(*bundle("with-ipv6"))
        b.wait_refusal("certificate", "NameMismatch")
        marks = b.driver.execute_script(
            "return [...document.querySelectorAll('#names-certificate .vx-required strong')]"
            ".map(s => s.textContent + ' ' + s.nextElementSibling.textContent);")
        check(marks == [f"{NAME} covered", "192.0.2.10 not covered", "2001:DB8:0::10 covered"], f"names marked: {marks}")
        b.shot("-ipv6", show="#names-certificate")
    finally:
        set_access_names(None)
    b.wait("the banner to go", lambda: "does not cover every name" not in b.text("#banners"))
    check("192.0.2.10" not in b.text("#names-certificate"), "the address is still listed")


def t_live_and_search(b):
    """Cockpit's search finds the page; a change made outside shows up live, without a reload"""
    b.login("vxviewer")
    b.driver.switch_to.default_content()
    b.find("input[placeholder='Search']").send_keys("tls")

    def offered():
        return b.driver.execute_script(
            "return [...document.querySelectorAll('nav a')]"
            ".filter(a => a.getClientRects().length).map(a => a.textContent.trim());")
    b.wait("the search to offer Certificates only",
           lambda: any(t.startswith("Certificates") for t in offered()) and not any(t.startswith("Accounts") for t in offered()))
    b.shot("-search")
    b.open_page()
    # The history as the daemon lists it, once the page has loaded it (it loads after the card).
    before_rows = n_generations()
    b.wait("the history to load",
           lambda: len(b.driver.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == before_rows)
    # Installed by root with the CLI inside the container, while the page is open.
    # /var/tmp: the container's /tmp is a tmpfs of its own.
    inside = os.path.join(WORK, "root", "var", "tmp", "live")
    shutil.copytree(pki("good-c", ""), inside)
    container("vertex-certctl", "install", "--cert", "/var/tmp/live/fullchain.pem", "--key", "/var/tmp/live/key.pem",
              "--ca", "/var/tmp/live/ca.pem")
    expected = file_fp(pki("good-c", "fullchain.pem"))
    b.wait("the page to show the certificate installed outside", lambda: b.text("#cert-fingerprint") == expected,
           timeout=60)
    b.wait("the history to grow", lambda: len(b.driver.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == before_rows + 1)
    b.shot(show="#served-card")


def t_rollback(b):
    """Rollback from the history table, behind a confirmation dialog"""
    current = prop("Fingerprint")
    previous_generation = int(prop("Generation")) - 1
    b.login("vxadmin")
    b.become_admin("vxadmin")
    b.open_page()
    button = f"#history tr[data-generation='{previous_generation}'] button"
    b.wait("the Roll back button", lambda: b.visible(button))
    # Escape cancels the dialog and changes nothing; focus returns to the button.
    b.find(button).click()
    b.wait("the confirmation dialog", lambda: b.visible("#confirm"))
    b.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    b.wait("the dialog to close", lambda: not b.visible("#confirm"))
    check(prop("Fingerprint") == current, "Escape rolled back")
    b.find(button).click()
    b.wait("the confirmation dialog", lambda: b.visible("#confirm"))
    b.shot("-confirm")
    b.find("#confirm-ok").click()
    b.wait("the rollback's result", lambda: "is served" in (b.text("#history-result") or ""), timeout=120)
    after = prop("Fingerprint")
    check(after != current and prop("Source") == "rollback", f"after rollback: {after}, source {prop('Source')}")
    b.wait("the page to show the rolled-back certificate", lambda: b.text("#cert-fingerprint") == after)
    b.shot(show="#history")
    all_serve(after)


def t_admin_upload(b):
    """the same through file upload, then a phone-width view without horizontal scrolling"""
    b.login("vxadmin")
    b.become_admin("vxadmin")
    b.open_page()
    b.upload("certificate", pki("good-b", "fullchain.pem"))
    b.upload("key", pki("good-b", "key.pem"))
    b.upload("authority", pki("good-b", "ca.pem"))
    b.wait_valid()
    result = b.save()
    expected = file_fp(pki("good-b", "fullchain.pem"))
    check("Installed: generation" in result and expected in result, f"Save said: {result}")
    b.wait("the page to show the new certificate", lambda: b.text("#cert-fingerprint") == expected)
    b.shot(show="#save-result")
    all_serve(expected)
    b.driver.set_window_size(390, 844)
    b.enter_page()
    b.no_horizontal_scroll()
    b.shot("-phone")


def t_invalid(b):
    """invalid pastes: each refusal at its field; the served certificate does not change"""
    before = prop("Fingerprint")
    b.login("vxadmin")
    b.become_admin("vxadmin")
    b.open_page()
    cert, key, ca = bundle("good-a")
    cases = [
        ("key-mismatch", (cert, read(pki("good-b", "key.pem")), ca), "key", "KeyMismatch"),
        ("wrong-name", bundle("wrong-name"), "certificate", "NameMismatch"),
        ("expired", bundle("expired"), "certificate", "Expired"),
        ("incomplete-chain", (read(pki("good-a", "leaf.pem")), key, read(pki("good-a", "root.pem"))),
         "authority", "ChainIncomplete"),
        ("garbage", ("this is not a certificate\n", key, ca), "certificate", "Malformed"),
    ]
    for name, parts, field, error in cases:
        b.driver.find_element(By.ID, "clear").click()
        b.paste_bundle(*parts)
        message = b.wait_refusal(field, error)
        diag(f"{name}: {message}")
        for other in {"certificate", "key", "authority"} - {field}:
            check("pf-m-error" not in b.find(f"#help-{other}").get_attribute("class"),
                  f"{name}: the {other} field is marked too")
        if name == "wrong-name":
            check("not covered" in b.text("#names-certificate"), "the names line does not say 'not covered'")
        b.shot(f"-{name}", show=f"#help-{field}")
    check(prop("Fingerprint") == before, "the served certificate changed")
    all_serve(before)


def accepted_chain(b, url):
    """Loads URL (raising on a certificate error); the chain Chromium accepted, DER, leaf first."""
    b.driver.execute_cdp_cmd("Network.enable", {})
    b.driver.get(url)
    check("ERR_CERT" not in b.driver.page_source, f"{url}: certificate error page")
    names = b.driver.execute_cdp_cmd("Network.getCertificate", {"origin": url.rstrip("/")})["tableNames"]
    return [base64.b64decode(der) for der in names]


def t_trusted_in_fresh_profile(b):
    """a profile trusting only the uploaded authority finds 8443, 8445 and 9090 secure; without it, not"""
    expected = prop("Fingerprint")
    ca = pki("good-b", "ca.pem")
    ca_subject = subprocess.run(["openssl", "x509", "-in", ca, "-noout", "-subject", "-nameopt", "RFC2253"],
                                capture_output=True, text=True, check=True).stdout.strip()
    # Cockpit reads the certificate when it starts; it stops by itself once idle.
    wait_for("cockpit.service to stop when idle",
             lambda: container("systemctl", "is-active", "cockpit.service", check_rc=False).strip() != "active",
             COCKPIT_IDLE_WAIT)
    trusting = Browser(b.case + "-trusting", trust_ca=ca, insecure=False)
    try:
        for url in (f"https://{NAME}:8443/", f"https://{NAME}:8445/", f"https://{NAME}:9090/"):
            chain = accepted_chain(trusting, url)
            check(chain, f"{url}: no certificate")
            leaf = fingerprint(chain[0])
            check(leaf == expected, f"{url} serves {leaf}, expected {expected}")
            check(chain[-1] == ssl.PEM_cert_to_DER_cert(read(ca)), f"{url}: the chain does not end at the uploaded authority")
            diag(f"{url}: secure, leaf {leaf}, issued under {ca_subject}")
            trusting.shot("-" + url.split(":")[-1].strip("/"))
    finally:
        trusting.quit()
    untrusting = Browser(b.case + "-untrusting", insecure=False)
    try:
        try:
            untrusting.driver.get(f"https://{NAME}:8443/")
            page = untrusting.driver.page_source
        except WebDriverException as ex:
            page = str(ex)
        check("ERR_CERT_AUTHORITY_INVALID" in page, "8443 loaded without the authority")
        untrusting.shot()
    finally:
        untrusting.quit()


def t_regenerate(b):
    """Regenerate self-signed from the history card; the self-signed banner comes back"""
    before = int(prop("Generation"))
    b.login("vxadmin")
    b.become_admin("vxadmin")
    b.open_page()
    b.find("#regenerate").click()
    b.wait("the confirmation dialog", lambda: b.visible("#confirm"))
    b.find("#confirm-ok").click()
    b.wait("the result", lambda: "is served" in (b.text("#history-result") or ""), timeout=120)
    check(int(prop("Generation")) == before + 1 and prop("Source") == "self-signed",
          f"generation {prop('Generation')}, source {prop('Source')}")
    served = prop("Fingerprint")
    b.wait("the page to show it", lambda: b.text("#cert-fingerprint") == served)
    b.wait("the self-signed banner", lambda: "self-signed default" in (b.text("#banners") or ""))
    b.shot()
    all_serve(served)


def cockpit_served_fp():
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((HOST, 9090), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=NAME) as tls:
            return fingerprint(tls.getpeercert(binary_form=True))


def t_cockpit_starts_without_generation(b):
    """Cockpit starts with no served generation and with a dangling link left in ws-certs.d"""
    links = ["/etc/cockpit/ws-certs.d/90-vertex-certd.cert", "/etc/cockpit/ws-certs.d/90-vertex-certd.key"]
    served = prop("Fingerprint")
    # No bus call while vertex-certd is stopped: it would be started by bus activation.
    container("systemctl", "stop", "cockpit.service", "vertex-certd.service")
    container("mv", "-T", "/var/lib/vertex-certd/current", "/var/lib/vertex-certd/current.away")
    try:
        # What a removed store would leave behind: links to nothing.
        for link in links:
            container("ln", "-sfn", "/var/lib/vertex-certd/generations/999/missing.pem", link)
        check(cockpit_served_fp() != served, "Cockpit serves vertex-certd's certificate without a generation")
        check(container("systemctl", "is-active", "cockpit.service", check_rc=False).strip() == "active",
              "cockpit.service did not start")
        check("90-vertex-certd" not in container("ls", "/etc/cockpit/ws-certs.d"),
              "a dangling link was left in ws-certs.d")
    finally:
        container("systemctl", "stop", "cockpit.service")
        container("mv", "-T", "/var/lib/vertex-certd/current.away", "/var/lib/vertex-certd/current")
        container("systemctl", "start", "vertex-certd.service")
    # With the generation back, the next start serves it again.
    check(cockpit_served_fp() == served, "Cockpit does not serve the served generation after a restart")
    b.login("vxviewer")
    b.shot()


def make_test_ca(directory):
    """A CA made on the spot with openssl, standing in for the organisation's; returns (pem, key) paths."""
    pem, key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", pem, "-subj", "/CN=Browser Test CA", "-days", "2",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True)
    return pem, key


def t_signing_request(b):
    """a signing request made on the page, signed outside, installed with certificate + CA only; another cancelled"""
    b.login("vxadmin")
    b.become_admin("vxadmin")
    b.open_page()
    b.wait("the subject prefilled", lambda: b.find("#request-subject").get_attribute("value") == f"CN={NAME}")
    check(f"DNS:{NAME}" in b.find("#request-names").get_attribute("value"),
          f"names not prefilled: {b.find('#request-names').get_attribute('value')}")
    b.find("#request-create").click()
    b.wait("the CSR", lambda: b.visible("#request-output")
           and b.find("#request-csr").get_attribute("value").startswith("-----BEGIN CERTIFICATE REQUEST-----"))
    csr = b.find("#request-csr").get_attribute("value")
    check("PRIVATE KEY" not in csr, "the page shows a private key")
    check(b.visible("#request-copy"), "no Copy button")
    check(b.find("#request-download").get_attribute("href").startswith("blob:"), "no Download link")
    request_id = b.text("#request-csr-label").split()[-1]
    b.wait("the pending request listed", lambda: request_id in (b.text("#pending") or ""))
    b.shot(show="#requests-card")

    work = tempfile.mkdtemp(prefix="vx-csr-")
    ca_pem, ca_key = make_test_ca(work)
    csr_path, signed = os.path.join(work, "r.csr"), os.path.join(work, "signed.pem")
    with open(csr_path, "w") as f:
        f.write(csr)
    subprocess.run(["openssl", "x509", "-req", "-in", csr_path, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
                    "-days", "1", "-copy_extensions", "copy", "-out", signed], check=True, capture_output=True)
    b.paste_bundle(read(signed), "", read(ca_pem))
    b.wait_valid()
    check(request_id in b.text("#help-key"), f"the key field does not name the request: {b.text('#help-key')}")
    result = b.save()
    expected = file_fp(signed)
    check("Installed: generation" in result and expected in result and request_id in result, f"Save said: {result}")
    all_serve(expected)
    b.wait("the request consumed", lambda: "No pending signing requests." in (b.text("#pending") or ""))
    b.shot(show="#save-result")

    # A second one, cancelled from the list.
    b.find("#request-create").click()
    b.wait("a second request", lambda: len(b.driver.find_elements(By.CSS_SELECTOR, "#pending tr[data-request]")) == 1)
    b.find("#pending tr[data-request] button").click()
    b.wait("the confirmation", lambda: b.visible("#confirm"))
    b.find("#confirm-ok").click()
    b.wait("the request cancelled", lambda: "No pending signing requests." in (b.text("#pending") or ""))
    check(prop("PendingRequests") in ("0", "[]", ""), f"the daemon still lists: {prop('PendingRequests')}")
    shutil.rmtree(work)


def t_pkcs12_upload(b):
    """a .p12 upload: a wrong password is refused by name, the right one installs it on every endpoint"""
    work = tempfile.mkdtemp(prefix="vx-p12-")
    p12, certfile = os.path.join(work, "console.p12"), os.path.join(work, "certfile.pem")
    with open(certfile, "w") as f:
        f.write(read(pki("good-c", "chain.pem")) + read(pki("good-c", "ca.pem")))
    subprocess.run(["openssl", "pkcs12", "-export", "-in", pki("good-c", "leaf.pem"), "-inkey", pki("good-c", "key.pem"),
                    "-certfile", certfile, "-out", p12, "-passout", "pass:p12-browser"],
                   check=True, capture_output=True)
    b.login("vxadmin")
    b.become_admin("vxadmin")
    b.open_page()
    before = prop("Fingerprint")
    b.find("#file-pkcs12").send_keys(p12)
    b.find("#field-pkcs12-password").send_keys("wrong")
    b.find("#install-pkcs12").click()
    b.wait("the refusal", lambda: "EncryptedKey" in (b.text("#pkcs12-result") or ""), timeout=120)
    check("the PKCS#12 password is wrong" in b.text("#pkcs12-result"), f"said: {b.text('#pkcs12-result')}")
    check(prop("Fingerprint") == before, "a refused file changed the served certificate")
    b.find("#file-pkcs12").send_keys(p12)
    b.find("#field-pkcs12-password").clear()
    b.find("#field-pkcs12-password").send_keys("p12-browser")
    b.find("#install-pkcs12").click()
    b.wait("the install", lambda: "Installed: generation" in (b.text("#pkcs12-result") or ""), timeout=120)
    expected = file_fp(pki("good-c", "leaf.pem"))
    check(expected in b.text("#pkcs12-result"), f"said: {b.text('#pkcs12-result')}")
    b.shot(show="#pkcs12-result")
    all_serve(expected)
    shutil.rmtree(work)


CASES = [
    t_viewer_read_only,
    t_invalid,
    t_admin_paste,
    t_name_mismatch,
    t_live_and_search,
    t_rollback,
    t_admin_upload,
    t_trusted_in_fresh_profile,
    t_regenerate,
    t_cockpit_starts_without_generation,
    t_signing_request,
    t_pkcs12_upload,
]


def main():
    print(f"1..{len(CASES)}", flush=True)
    failed = 0
    for n, case in enumerate(CASES, 1):
        name = case.__name__[2:].replace("_", "-")
        t0 = time.monotonic()
        browser = None
        try:
            browser = Browser(name)
            case(browser)
            print(f"ok {n} - {case.__doc__}", flush=True)
        except Exception as ex:  # noqa: BLE001 - any failure fails the case, with its trace
            failed += 1
            diag(traceback.format_exc())
            if browser:
                try:
                    diag(f"screenshot: {browser.shot('-failed')}")
                except WebDriverException:
                    pass
            reason = str(ex).strip().splitlines()[0] if str(ex).strip() else type(ex).__name__
            print(f"not ok {n} - {case.__doc__}: {reason}", flush=True)
        finally:
            if browser:
                browser.quit()
        diag(f"({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
