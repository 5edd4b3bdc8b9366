// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The Certificates page. It talks to org.vertex.Certificates on the system
// bus through Cockpit's bridge, with the logged-in user's own credentials (or
// the privileged bridge once the user has turned on administrative access),
// so polkit decides exactly as it does for busctl. State comes from the
// properties and signals; nothing is polled. Key material goes nowhere but
// the Validate and Install calls.
"use strict";

const BUS_NAME = "org.vertex.Certificates";
const OBJECT_PATH = "/org/vertex/Certificates";
const INTERFACE = "org.vertex.Certificates";
const ERROR_PREFIX = "org.vertex.Certificates.Error.";
// Install reloads and verifies every endpoint (ReloadTimeoutSec=, 30 s by
// default, twice when it has to go back): wait longer than that.
const INSTALL_TIMEOUT_MS = 180 * 1000;
const VALIDATE_DELAY_MS = 400;
const MAX_FILE_BYTES = 1024 * 1024;
const DAY_US = 24 * 3600 * 1e6;

const ACCESS_SENTENCE = "Administrative access is needed to change the certificate. " +
    "Turn on administrative access in the top bar, then try again.";

const SOURCE_LABELS = {
    "self-signed": "Self-signed default",
    bus: "Uploaded",
    "drop-directory": "Dropped into the drop directory",
    rollback: "Rollback",
};

const STATE_LABELS = {
    serving: ["Serving", "green"],
    reloading: ["Reloading", "blue"],
    degraded: ["Degraded", "red"],
    expiring: ["Expiring", "orange"],
    expired: ["Expired", "red"],
    "name-mismatch": ["Name mismatch", "orange"],
    inactive: ["Inactive (starts on the next connection)", "grey"],
    failed: ["Failed", "red"],
    mismatch: ["Serves another certificate", "red"],
    unreachable: ["Unreachable", "red"],
    "handshake-failed": ["Answers, but TLS handshakes fail", "red"],
    unknown: ["Not checked yet", "grey"],
};

// Which field a refusal concerns. Errors about the input's form name the
// input in their message ("the key input …", "the authority input …").
const FIELD_OF_ERROR = {
    MissingKey: "key",
    EncryptedKey: "key",
    KeyMismatch: "key",
    WeakKey: "key",
    ChainIncomplete: "authority",
    UntrustedChain: "authority",
};

const FIELDS = ["certificate", "key", "authority"];

let client = null;
let proxy = null;
let subscription = null;
let validateTimer = null;
let validateSerial = 0;
let lastReport = null;
let busy = false;

const $ = id => document.getElementById(id);

function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
        if (name === "class")
            node.className = value;
        else if (name === "text")
            node.textContent = value;
        else
            node.setAttribute(name, value);
    }
    for (const child of children)
        node.append(child);
    return node;
}

// ---------------------------------------------------------------- formatting

function formatTime(usec) {
    if (!usec)
        return "—";
    return new Date(Number(usec) / 1000).toLocaleString(undefined,
        { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

function daysLeft(notAfterUsec) {
    return Math.floor((Number(notAfterUsec) - Date.now() * 1000) / DAY_US);
}

function describeDaysLeft(days) {
    if (days < 0)
        return `expired ${-days} day${days === -1 ? "" : "s"} ago`;
    if (days === 0)
        return "expires today";
    return `${days} day${days === 1 ? "" : "s"} left`;
}

function label(text, color) {
    return el("span", { class: `pf-c-label pf-m-${color || "grey"}` },
              el("span", { class: "pf-c-label__content", text }));
}

function stateLabel(state) {
    const [text, color] = STATE_LABELS[state] || [state, "grey"];
    return label(text, color);
}

function alertBox(variant, title, body) {
    const box = el("div", { class: `pf-c-alert pf-m-inline pf-m-${variant}`, "aria-label": `${variant} alert` },
                   el("p", { class: "pf-c-alert__title" },
                      el("span", { class: "pf-screen-reader", text: `${variant} alert:` }), title));
    if (body)
        box.append(el("div", { class: "pf-c-alert__description" }, el("p", { text: body })));
    return box;
}

// The eight 16-bit groups of an IPv6 address ("::" and a trailing IPv4 part
// allowed), or null: the certificate's "2001:db8::10" is what the
// configuration may spell "2001:DB8:0::10".
function ipv6Groups(text) {
    let head = text;
    const v4 = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
    if (v4) {
        const bytes = v4.slice(2).map(Number);
        if (bytes.some(b => b > 255))
            return null;
        head = v4[1] + ((bytes[0] << 8) | bytes[1]).toString(16) + ":" + ((bytes[2] << 8) | bytes[3]).toString(16);
    }
    const halves = head.split("::");
    if (halves.length > 2)
        return null;
    const parse = part => part === "" ? [] : part.split(":");
    const left = parse(halves[0]);
    const right = halves.length === 2 ? parse(halves[1]) : [];
    const missing = 8 - left.length - right.length;
    if (halves.length === 2 ? missing < 1 : missing !== 0)
        return null;
    const groups = [...left, ...Array(missing).fill("0"), ...right];
    if (!groups.every(g => /^[0-9a-f]{1,4}$/i.test(g)))
        return null;
    return groups.map(g => parseInt(g, 16));
}

// Two spellings of one IP address (IPv4 as written; IPv6 in any form).
function sameAddress(a, b) {
    if (a.toLowerCase() === b.toLowerCase())
        return true;
    const x = ipv6Groups(a);
    const y = ipv6Groups(b);
    return x !== null && y !== null && x.every((g, i) => g === y[i]);
}

// Whether a subject alternative name covers a host name, with a wildcard only
// as the whole left-most label (RFC 6125). For display only: the daemon's
// Validate verdict is what counts.
function nameCovers(san, name) {
    const lower = name.toLowerCase();
    if (san.startsWith("IP:"))
        return sameAddress(san.slice(3), lower);
    if (!san.startsWith("DNS:"))
        return false;
    const pattern = san.slice(4).toLowerCase();
    if (pattern === lower)
        return true;
    if (!pattern.startsWith("*.") || /^[0-9.]+$|:/.test(lower))
        return false;
    const dot = lower.indexOf(".");
    return dot > 0 && lower.slice(dot + 1) === pattern.slice(2);
}

// ---------------------------------------------------------------- errors

function isAccessError(ex) {
    const name = (ex && ex.name) || "";
    return name === "org.freedesktop.DBus.Error.AccessDenied" ||
           name === "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" ||
           (ex && (ex.problem === "access-denied" || ex.problem === "not-authorized"));
}

function shortErrorName(ex) {
    const name = (ex && ex.name) || "";
    return name.startsWith(ERROR_PREFIX) ? name.slice(ERROR_PREFIX.length) : name;
}

function errorText(ex) {
    if (isAccessError(ex))
        return ACCESS_SENTENCE;
    return (ex && (ex.message || ex.problem)) || String(ex);
}

function fieldOfError(name, message) {
    if (FIELD_OF_ERROR[name])
        return FIELD_OF_ERROR[name];
    if (/\bkey input\b/.test(message))
        return "key";
    if (/\bauthority input\b/.test(message))
        return "authority";
    return "certificate";
}

// ---------------------------------------------------------------- served certificate

function renderNames(container, names) {
    container.replaceChildren();
    const group = el("div", { class: "pf-c-label-group" });
    const list = el("ul", { class: "pf-c-label-group__list", "aria-label": "Names" });
    for (const name of names || [])
        list.append(el("li", { class: "pf-c-label-group__list-item" }, label(name, "blue")));
    group.append(el("div", { class: "pf-c-label-group__main" }, list));
    container.append(names && names.length ? group : "—");
}

function renderBanners(d) {
    const banners = $("banners");
    banners.replaceChildren();
    const days = d.NotAfter ? daysLeft(d.NotAfter) : null;
    if (d.State === "expired" || (days !== null && days < 0))
        banners.append(alertBox("danger", "The served certificate has expired",
                                `It was valid until ${formatTime(d.NotAfter)}. Clients refuse it: replace it now.`));
    else if (d.State === "expiring")
        banners.append(alertBox("warning", `The served certificate expires in ${days} day${days === 1 ? "" : "s"}`,
                                `It is valid until ${formatTime(d.NotAfter)}. Replace it before then.`));
    if (d.Source === "self-signed")
        banners.append(alertBox("warning", "The self-signed default certificate is still in use",
                                "Browsers and clients do not trust it. Replace it with a certificate from your certificate authority."));
    if (d.State === "name-mismatch")
        banners.append(alertBox("warning", "The served certificate does not cover every name clients use",
                                d.LastError || "Install a certificate that covers the configured names."));
    if (d.State === "degraded")
        banners.append(alertBox("danger", "An endpoint does not serve the current certificate",
                                d.LastError || "See the endpoints below."));
}

function renderEndpoints(endpoints) {
    const body = $("endpoints").tBodies[0];
    body.replaceChildren();
    for (const [unit, address, state] of endpoints || []) {
        body.append(el("tr", { role: "row" },
                       el("td", { role: "cell", "data-label": "Unit", text: unit.replace(/\.service$/, "") }),
                       el("td", { role: "cell", "data-label": "Address", class: "vx-mono", text: address || "—" }),
                       el("td", { role: "cell", "data-label": "State" }, stateLabel(state))));
    }
    if (!body.rows.length)
        body.append(el("tr", { role: "row" }, el("td", { role: "cell", colspan: "3", text: "No endpoints are configured." })));
}

function renderServed() {
    const d = proxy.data;
    $("cert-subject").textContent = d.Subject || "—";
    $("cert-issuer").textContent = d.Issuer || "—";
    renderNames($("cert-names"), d.SubjectAlternativeNames);
    $("cert-not-before").textContent = formatTime(d.NotBefore);
    const until = $("cert-not-after");
    until.replaceChildren(formatTime(d.NotAfter));
    if (d.NotAfter) {
        const days = daysLeft(d.NotAfter);
        until.append(" ", label(describeDaysLeft(days), days < 0 ? "red" : d.State === "expiring" ? "orange" : "green"));
    }
    $("cert-fingerprint").textContent = d.Fingerprint || "—";
    $("cert-key-type").textContent = d.KeyType || "—";
    $("cert-source").textContent = SOURCE_LABELS[d.Source] || d.Source || "—";
    $("cert-generation").textContent = d.Generation ? String(d.Generation) : "—";
    const state = $("cert-state");
    state.replaceChildren(stateLabel(d.State));
    if (d.LastError)
        state.append(el("div", { class: "vx-last-error", text: `Last error: ${d.LastError}` }));
    renderBanners(d);
    renderEndpoints(d.Endpoints);
    renderRequiredNames();
}

// ---------------------------------------------------------------- history

function confirmDialog(title, body, action) {
    return new Promise(resolve => {
        const dialog = $("confirm");
        const previous = document.activeElement;
        $("confirm-title").textContent = title;
        $("confirm-body").textContent = body;
        $("confirm-ok").textContent = action;
        dialog.hidden = false;
        $("confirm-cancel").focus();
        const close = result => {
            dialog.hidden = true;
            dialog.removeEventListener("keydown", onKey);
            $("confirm-ok").removeEventListener("click", onOk);
            $("confirm-cancel").removeEventListener("click", onCancel);
            if (previous)
                previous.focus();
            resolve(result);
        };
        const onOk = () => close(true);
        const onCancel = () => close(false);
        const onKey = ev => {
            if (ev.key === "Escape")
                close(false);
        };
        dialog.addEventListener("keydown", onKey);
        $("confirm-ok").addEventListener("click", onOk);
        $("confirm-cancel").addEventListener("click", onCancel);
    });
}

async function changeFromHistory(method, title, body, action, progressText) {
    if (busy || !await confirmDialog(title, body, action))
        return;
    const result = $("history-result");
    result.replaceChildren(alertBox("info", progressText));
    setBusy(true);
    try {
        const [generation, fingerprint] = await client.call(OBJECT_PATH, INTERFACE, method, [],
                                                            { timeout: INSTALL_TIMEOUT_MS });
        result.replaceChildren(alertBox("success", `Generation ${generation} is served`, `Fingerprint ${fingerprint}`));
    } catch (ex) {
        result.replaceChildren(refusalAlert(ex));
    } finally {
        setBusy(false);
    }
}

function rollbackButton(target) {
    const button = el("button", { type: "button", class: "pf-c-button pf-m-secondary pf-m-small", text: "Roll back" });
    button.setAttribute("aria-label", `Roll back to generation ${target}`);
    button.addEventListener("click", () => changeFromHistory("Rollback",
        `Roll back to generation ${target}?`,
        `Generation ${target} is served again on every endpoint. The current certificate stays in the history.`,
        "Roll back", `Rolling back to generation ${target}; reloading the endpoints…`));
    return button;
}

async function renderHistory() {
    let generations;
    try {
        [generations] = await client.call(OBJECT_PATH, INTERFACE, "ListGenerations", []);
    } catch (ex) {
        $("history-result").replaceChildren(alertBox("danger", "The history could not be read", errorText(ex)));
        return;
    }
    const current = Number(proxy.data.Generation || 0);
    // Rollback serves the newest generation older than the current one.
    const older = generations.map(g => Number(g[0])).filter(n => n < current);
    const target = older.length ? Math.max(...older) : null;
    const body = $("history").tBodies[0];
    body.replaceChildren();
    for (const [generation, , source, subject, notAfter, installedAt] of generations.slice().reverse()) {
        const n = Number(generation);
        const action = el("td", { role: "cell", class: "pf-c-table__action" });
        if (n === current)
            action.append(label("Serving", "green"));
        else if (n === target)
            action.append(rollbackButton(n));
        body.append(el("tr", { role: "row", "data-generation": String(n) },
                       el("td", { role: "cell", "data-label": "Generation", text: String(n) }),
                       el("td", { role: "cell", "data-label": "Subject", class: "vx-break", text: subject }),
                       el("td", { role: "cell", "data-label": "Source", text: SOURCE_LABELS[source] || source }),
                       el("td", { role: "cell", "data-label": "Installed", text: formatTime(installedAt) }),
                       el("td", { role: "cell", "data-label": "Expires", text: formatTime(notAfter) }),
                       action));
    }
}

// ---------------------------------------------------------------- the form

function fieldValue(field) {
    return $(`field-${field}`).value;
}

function setFieldHelp(field, variant, text) {
    const help = $(`help-${field}`);
    const input = $(`field-${field}`);
    if (!help.dataset.defaultText)
        help.dataset.defaultText = help.textContent;
    help.classList.toggle("pf-m-error", variant === "error");
    help.classList.toggle("pf-m-success", variant === "success");
    help.textContent = text || help.dataset.defaultText;
    input.setAttribute("aria-invalid", variant === "error" ? "true" : "false");
}

function resetFieldHelp() {
    for (const field of FIELDS)
        setFieldHelp(field, null, null);
}

// Every name clients use (RequiredNames: ServerName= then AccessNames=), each
// marked covered or not once a bundle has been validated.
function renderRequiredNames() {
    const box = $("names-certificate");
    box.replaceChildren();
    const required = proxy && proxy.data.RequiredNames && proxy.data.RequiredNames.length
        ? proxy.data.RequiredNames
        : (proxy && proxy.data.ServerName ? [proxy.data.ServerName] : []);
    if (!required.length)
        return;
    const names = lastReport && lastReport["alternative-names"] ? lastReport["alternative-names"].v : null;
    const line = el("div", { class: "vx-required" }, required.length === 1 ? "Required name: " : "Required names: ");
    required.forEach((name, i) => {
        if (i > 0)
            line.append(", ");
        line.append(el("strong", { class: "vx-mono", text: name }));
        if (names)
            line.append(" ", names.some(n => nameCovers(n, name)) ? label("covered", "green") : label("not covered", "red"));
    });
    box.append(line);
    if (names)
        box.append(el("div", { class: "vx-covers" }, "This certificate covers: ",
                      names.length ? names.join(", ") : "no names"));
}

function renderVerdict(report) {
    lastReport = report;
    resetFieldHelp();
    const verdict = $("verdict");
    verdict.replaceChildren();
    if (report && report.valid.v) {
        const request = report["signing-request"] ? report["signing-request"].v : null;
        setFieldHelp("certificate", "success",
                     `Valid: ${report.subject.v}, issued by ${report.issuer.v}, until ${formatTime(report["not-after"].v)}.`);
        if (request)
            setFieldHelp("key", "success", `No key needed: the certificate answers signing request ${request}, whose key is used.`);
        verdict.append(alertBox("success", "The bundle is valid", "Save installs it on every endpoint."));
    } else if (report) {
        const name = report.error.v;
        const message = report.message.v;
        setFieldHelp(fieldOfError(name, message), "error", `${name}: ${message}`);
    }
    renderRequiredNames();
    updateSave();
}

function updateSave() {
    $("save").disabled = busy || !(lastReport && lastReport.valid.v);
}

function setBusy(value) {
    busy = value;
    $("save-progress").hidden = !value;
    $("regenerate").disabled = value;
    for (const button of document.querySelectorAll("#history button"))
        button.disabled = value;
    updateSave();
}

function scheduleValidate() {
    clearTimeout(validateTimer);
    lastReport = null;
    updateSave();
    $("save-result").replaceChildren();
    if (!fieldValue("certificate").trim()) {
        renderVerdict(null);
        return;
    }
    validateTimer = setTimeout(validate, VALIDATE_DELAY_MS);
}

async function validate() {
    const serial = ++validateSerial;
    const args = FIELDS.map(fieldValue);
    try {
        const [report] = await client.call(OBJECT_PATH, INTERFACE, "Validate", args);
        if (serial === validateSerial)
            renderVerdict(report);
    } catch (ex) {
        if (serial !== validateSerial)
            return;
        renderVerdict(null);
        $("verdict").replaceChildren(alertBox("danger", "The bundle could not be checked", errorText(ex)));
    }
}

function refusalAlert(ex) {
    if (isAccessError(ex))
        return alertBox("danger", "Not allowed", ACCESS_SENTENCE);
    const name = shortErrorName(ex);
    if (name === "ReloadFailed")
        return alertBox("danger", "The endpoints did not serve the new certificate; the previous one was put back",
                        ex.message);
    if (name === "Busy")
        return alertBox("warning", "Another change is running", `${ex.message} Try again when it has finished.`);
    return alertBox("danger", name ? `Refused: ${name}` : "Failed", ex.message || String(ex));
}

async function save(ev) {
    ev.preventDefault();
    if (busy || !(lastReport && lastReport.valid.v))
        return;
    const result = $("save-result");
    const request = lastReport["signing-request"] ? lastReport["signing-request"].v : null;
    result.replaceChildren();
    setBusy(true);
    try {
        const [generation, fingerprint] = await client.call(OBJECT_PATH, INTERFACE, "Install", FIELDS.map(fieldValue),
                                                            { timeout: INSTALL_TIMEOUT_MS });
        const serving = (proxy.data.Endpoints || [])
            .filter(e => e[3] === fingerprint && e[2] === "serving").map(e => e[0].replace(/\.service$/, ""));
        clearForm();
        result.replaceChildren(alertBox("success", `Installed: generation ${generation} is served`,
            `Fingerprint ${fingerprint}.` + (serving.length ? ` Now serving it: ${serving.join(", ")}.` : "") +
            (request ? ` It answers signing request ${request}; that request's key was used.` : "")));
    } catch (ex) {
        result.replaceChildren(refusalAlert(ex));
        const name = shortErrorName(ex);
        if (name && !isAccessError(ex) && name !== "ReloadFailed" && name !== "Busy")
            setFieldHelp(fieldOfError(name, ex.message || ""), "error", `${name}: ${ex.message}`);
    } finally {
        setBusy(false);
    }
}

function clearForm() {
    clearTimeout(validateTimer);
    validateSerial++;
    for (const field of FIELDS) {
        $(`field-${field}`).value = "";
        $(`file-${field}`).value = "";
    }
    $("verdict").replaceChildren();
    renderVerdict(null);
}

function readFileInto(field, file) {
    if (!file)
        return;
    if (file.size > MAX_FILE_BYTES) {
        setFieldHelp(field, "error", `'${file.name}' is ${file.size} bytes; a PEM file for this field is at most ${MAX_FILE_BYTES} bytes.`);
        return;
    }
    const reader = new FileReader();
    reader.addEventListener("load", () => {
        $(`field-${field}`).value = reader.result;
        scheduleValidate();
    });
    reader.addEventListener("error", () => setFieldHelp(field, "error", `'${file.name}' could not be read.`));
    reader.readAsText(file);
}

function setUpForm() {
    for (const field of FIELDS) {
        const input = $(`field-${field}`);
        const file = $(`file-${field}`);
        input.addEventListener("input", scheduleValidate);
        file.addEventListener("change", () => readFileInto(field, file.files[0]));
        input.addEventListener("dragover", ev => {
            ev.preventDefault();
            input.classList.add("vx-drop-target");
        });
        input.addEventListener("dragleave", () => input.classList.remove("vx-drop-target"));
        input.addEventListener("drop", ev => {
            ev.preventDefault();
            input.classList.remove("vx-drop-target");
            readFileInto(field, ev.dataTransfer.files[0]);
        });
    }
    for (const button of document.querySelectorAll("[data-browse]"))
        button.addEventListener("click", () => $(`file-${button.dataset.browse}`).click());
    $("replace-form").addEventListener("submit", save);
    $("clear").addEventListener("click", () => {
        clearForm();
        $("save-result").replaceChildren();
    });
    $("regenerate").addEventListener("click", () => changeFromHistory("RegenerateSelfSigned",
        "Regenerate the self-signed certificate?",
        "A new self-signed certificate for the configured names is made and served on every endpoint. " +
        "Clients will not trust it until you install a certificate from your authority.",
        "Regenerate", "Generating a self-signed certificate; reloading the endpoints…"));
}

// ---------------------------------------------------------------- connection

function showUnavailable(reason) {
    $("content").hidden = true;
    $("unavailable").hidden = false;
    $("unavailable-reason").textContent = reason;
    $("banners").replaceChildren();
}

function onSignal(path, iface, signal, args) {
    if (signal === "Installed" || signal === "EndpointsReloaded")
        renderHistory();
    if (signal === "Rejected" && args[0] === "drop-directory")
        $("history-result").replaceChildren(alertBox("warning", `A dropped bundle was refused: ${args[2]}`,
                                                     `${args[1]}: ${args[3]}`));
}

function connect(superuser) {
    if (subscription)
        subscription.remove();
    if (client)
        client.close();
    // "try": the privileged bridge when the user has administrative access,
    // else the user's own connection to the system bus.
    client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: superuser ? "try" : undefined });
    proxy = client.proxy(INTERFACE, OBJECT_PATH);
    proxy.addEventListener("changed", () => {
        renderServed();
        if (typeof renderRequests === "function")
            renderRequests();
        if (busy)
            $("save-progress-text").textContent = proxy.data.State === "reloading"
                ? "Reloading the endpoints and checking that they serve it…"
                : "Installing…";
    });
    subscription = client.subscribe({ interface: INTERFACE, path: OBJECT_PATH }, onSignal);
    proxy.wait(() => {
        if (!proxy.valid) {
            showUnavailable("vertex-certd does not answer on the system bus. " +
                            "Check it with: systemctl status vertex-certd");
            return;
        }
        $("unavailable").hidden = true;
        $("content").hidden = false;
        renderServed();
        renderHistory();
        if (typeof renderRequests === "function")
            renderRequests();
        if (fieldValue("certificate").trim())
            scheduleValidate();
    });
    client.addEventListener("close", (ev, options) => {
        if (options && options.problem && options.problem !== "disconnected")
            showUnavailable(`The connection to the system bus closed: ${options.problem}.`);
    });
}

function watchSuperuser() {
    // Cockpit keeps a page's channels when the user turns administrative
    // access on or off: follow cockpit.Superuser's Current and reconnect.
    const superuser = cockpit.dbus(null, { bus: "internal" }).proxy("cockpit.Superuser", "/superuser");
    let privileged = null;
    const update = () => {
        const current = superuser.Current;
        if (current === undefined || current === "init")
            return;
        const now = current !== "none";
        const hint = $("access-hint");
        hint.hidden = now;
        hint.replaceChildren(now ? "" : alertBox("info", "Limited access", ACCESS_SENTENCE));
        if (now !== privileged) {
            privileged = now;
            connect(now);
        }
    };
    superuser.addEventListener("changed", update);
    superuser.wait(() => {
        if (!superuser.valid && privileged === null) {
            privileged = false;
            connect(false);
        } else {
            update();
        }
    });
}

document.addEventListener("DOMContentLoaded", () => {
    setUpForm();
    watchSuperuser();
    cockpit.transport.wait(() => document.body.classList.add("vx-ready"));
});
