// SPDX-License-Identifier: LGPL-2.1-or-later
//
// The signing requests and the PKCS#12 upload of the Certificates page.
// Loaded after certificates.js, whose client, proxy and helpers it uses.
// The key of a signing request is made and kept by vertex-certd: this page
// only ever sees the request's id and its CSR. A PKCS#12 file goes to
// `vertex-certctl install --pkcs12 -` on stdin, its password in the
// environment: D-Bus methods that take file descriptors cannot be called
// from a Cockpit page, and neither stdin nor the environment is visible to
// other users the way arguments are.
"use strict";

let requestDefaultsTouched = false;
let csrUrl = null;

function requestNames() {
    return $("request-names").value.split(/[\s,]+/).filter(n => n);
}

// Subject and names from the configuration, until the user edits them.
function renderRequestDefaults() {
    if (requestDefaultsTouched || !proxy || !proxy.data.ServerName)
        return;
    const d = proxy.data;
    $("request-subject").value = `CN=${d.ServerName}`;
    // The self-signed default carries ServerName= and AlternativeNames=: the configured names.
    const names = d.Source === "self-signed" && d.SubjectAlternativeNames && d.SubjectAlternativeNames.length
        ? d.SubjectAlternativeNames : [`DNS:${d.ServerName}`];
    $("request-names").value = names.join(", ");
}

function cancelButton(id, subject) {
    const button = el("button", { type: "button", class: "pf-c-button pf-m-secondary pf-m-small", text: "Cancel" });
    button.setAttribute("aria-label", `Cancel signing request ${id}`);
    button.addEventListener("click", async () => {
        if (!await confirmDialog(`Cancel signing request ${id}?`,
                                 `Its key is removed. A certificate signed for it (${subject}) can no longer be installed.`,
                                 "Cancel request"))
            return;
        try {
            await client.call(OBJECT_PATH, INTERFACE, "CancelSigningRequest", [id]);
            $("request-result").replaceChildren(alertBox("success", `Signing request ${id} was cancelled`));
        } catch (ex) {
            $("request-result").replaceChildren(refusalAlert(ex));
        }
    });
    return button;
}

function renderRequests() {
    renderRequestDefaults();
    const body = $("pending").tBodies[0];
    body.replaceChildren();
    for (const [id, subject, keyType, created, expires] of proxy.data.PendingRequests || []) {
        body.append(el("tr", { role: "row", "data-request": id },
                       el("td", { role: "cell", "data-label": "Request", class: "vx-mono", text: id }),
                       el("td", { role: "cell", "data-label": "Subject", class: "vx-break", text: subject }),
                       el("td", { role: "cell", "data-label": "Key type", text: keyType }),
                       el("td", { role: "cell", "data-label": "Created", text: formatTime(created) }),
                       el("td", { role: "cell", "data-label": "Expires", text: formatTime(expires) }),
                       el("td", { role: "cell", class: "pf-c-table__action" }, cancelButton(id, subject))));
    }
    if (!body.rows.length)
        body.append(el("tr", { role: "row" }, el("td", { role: "cell", colspan: "6", text: "No pending signing requests." })));
}

function showCsr(id, csr) {
    $("request-output").hidden = false;
    $("request-csr").value = csr;
    $("request-csr-label").textContent = `Signing request ${id}`;
    if (csrUrl)
        URL.revokeObjectURL(csrUrl);
    csrUrl = URL.createObjectURL(new Blob([csr], { type: "application/pkcs10" }));
    $("request-download").href = csrUrl;
    $("request-download").download = `request-${id.slice(0, 8)}.csr`;
}

async function createRequest(ev) {
    ev.preventDefault();
    const options = {
        KeyType: cockpit.variant("s", $("request-key-type").value),
        Subject: cockpit.variant("s", $("request-subject").value.trim()),
        AlternativeNames: cockpit.variant("as", requestNames()),
    };
    const result = $("request-result");
    result.replaceChildren(alertBox("info", "Making a key and a signing request…"));
    $("request-create").disabled = true;
    try {
        const [id, csr] = await client.call(OBJECT_PATH, INTERFACE, "CreateSigningRequest", [options],
                                            { type: "a{sv}", timeout: INSTALL_TIMEOUT_MS });
        result.replaceChildren(alertBox("success", `Signing request ${id} created`,
            "Have it signed by your certificate authority, then paste the certificate and the CA under " +
            "Replace certificate, without a key."));
        showCsr(id, csr);
    } catch (ex) {
        // InvalidArgs names the option first: "Subject: not a distinguished name …".
        result.replaceChildren(isAccessError(ex) ? alertBox("danger", "Not allowed", ACCESS_SENTENCE)
            : alertBox("danger", "The signing request was not created", ex.message || String(ex)));
    } finally {
        $("request-create").disabled = false;
    }
}

// "org.vertex.Certificates.Error.EncryptedKey: …" from vertex-certctl, as the bus would have said it.
function certctlRefusal(ex) {
    const text = ((ex && ex.message) || String(ex)).trim();
    const m = text.match(/^(?:org\.vertex\.Certificates\.Error\.)?([A-Za-z.]+): ([^]*)$/);
    if (m && /AccessDenied|InteractiveAuthorizationRequired/.test(m[1]))
        return alertBox("danger", "Not allowed", ACCESS_SENTENCE);
    return m ? alertBox("danger", `Refused: ${m[1]}`, m[2]) : alertBox("danger", "Failed", text);
}

async function installPkcs12(ev) {
    ev.preventDefault();
    const file = $("file-pkcs12").files[0];
    const result = $("pkcs12-result");
    if (!file || busy)
        return;
    if (file.size > MAX_FILE_BYTES) {
        result.replaceChildren(alertBox("danger", `'${file.name}' is ${file.size} bytes`,
                                        `A PKCS#12 file is at most ${MAX_FILE_BYTES} bytes.`));
        return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    result.replaceChildren(alertBox("info", "Installing and reloading the endpoints…"));
    setBusy(true);
    try {
        const out = await cockpit.spawn(["vertex-certctl", "--json", "install", "--pkcs12", "-"], {
            binary: true,
            err: "message",
            superuser: "try",
            environ: [`VERTEX_CERTCTL_PKCS12_PASSWORD=${$("field-pkcs12-password").value}`],
        }).input(bytes);
        const answer = JSON.parse(new TextDecoder().decode(out));
        result.replaceChildren(alertBox("success", `Installed: generation ${answer.generation} is served`,
                                        `Fingerprint ${answer.fingerprint}, from ${file.name}.`));
        $("file-pkcs12").value = "";
        $("field-pkcs12-password").value = "";
    } catch (ex) {
        result.replaceChildren(certctlRefusal(ex));
    } finally {
        setBusy(false);
        updatePkcs12();
    }
}

function updatePkcs12() {
    $("install-pkcs12").disabled = busy || !$("file-pkcs12").files.length;
}

document.addEventListener("DOMContentLoaded", () => {
    $("request-form").addEventListener("submit", createRequest);
    for (const id of ["request-subject", "request-names"])
        $(id).addEventListener("input", () => { requestDefaultsTouched = true });
    $("request-copy").addEventListener("click", async () => {
        try {
            await navigator.clipboard.writeText($("request-csr").value);
            $("request-result").replaceChildren(alertBox("success", "The signing request was copied"));
        } catch (ex) {
            // No clipboard access (plain http, an old browser): select it for Ctrl+C instead.
            $("request-csr").select();
        }
    });
    $("pkcs12-form").addEventListener("submit", installPkcs12);
    $("file-pkcs12").addEventListener("change", updatePkcs12);
});
