// The reference portal: static files served by a node's gateway at /portal/, using only the
// node's public JSON API (the google.api.http bindings of the protos). zh-CN first; English
// switch. API calls go to the gateway that served the page unless ?api=<origin> names
// another node's gateway on the same host (CORS allows the local federation's gateways).
"use strict";

// Only a gateway on this page's host may be named: the bearer token goes with every call.
function apiOrigin() {
  const named = new URLSearchParams(location.search).get("api");
  try {
    const url = new URL(named || location.origin);
    return url.hostname === location.hostname ? url.origin : location.origin;
  } catch { return location.origin; }
}
const API = apiOrigin();
const TEXT = {
  zh: {
    title: "普惠知识产权公共服务", skip: "跳到主要内容", find: "查找服务机构和服务事项",
    province: "省份", city: "城市", any: "不限", keywords: "关键词", search: "搜索",
    match: "供需匹配", ipc: "技术领域（IPC，如 G06F）", needs: "需求描述", matchBtn: "匹配",
    patents: "专利和商标检索", kind: "类型", patent: "专利", trademark: "商标", next: "下一页",
    account: "注册和登录", displayName: "姓名（注册时填写）", login: "电子邮箱或手机号",
    password: "密码", signin: "登录", register: "注册", rate: "服务评价（好差评）",
    ratingToken: "评价码（来自评价链接）", level: "评价", l1: "非常满意", l2: "满意",
    l3: "基本满意", l4: "不满意", l5: "非常不满意", comment: "意见", submit: "提交",
    report: "提出需求或投诉", need: "需求", complaint: "投诉", suggestion: "建议", text: "内容",
    index: "机构满意度指数", institutionId: "机构编号", show: "查看", apiRef: "API 参考",
    institutions: "服务机构", items: "服务事项", none: "没有结果", total: "共 {n} 条",
    reasons: "匹配理由", gaps: "不足", signedIn: "已登录：{name}", registered: "注册成功，请登录",
    rated: "评价已提交，谢谢", reported: "已提交，编号 {id}", ratings: "评价数",
    satisfied: "满意率", badRate: "差评率", onTime: "整改按时率", facets: "分面",
  },
  en: {
    title: "Puhui IP Public Services", skip: "Skip to main content",
    find: "Find service institutions and service items", province: "Province", city: "City",
    any: "Any", keywords: "Keywords", search: "Search", match: "Supply–demand match",
    ipc: "Technology field (IPC, e.g. G06F)", needs: "What you need", matchBtn: "Match",
    patents: "Patent and trademark search", kind: "Kind", patent: "Patents",
    trademark: "Trademarks", next: "Next page", account: "Register and sign in",
    displayName: "Name (to register)", login: "E-mail or mobile number", password: "Password",
    signin: "Sign in", register: "Register", rate: "Rate a service",
    ratingToken: "Rating code (from the rating link)", level: "Rating", l1: "Very satisfied",
    l2: "Satisfied", l3: "Basically satisfied", l4: "Dissatisfied", l5: "Very dissatisfied",
    comment: "Comment", submit: "Submit", report: "File a need or complaint", need: "Need",
    complaint: "Complaint", suggestion: "Suggestion", text: "Text",
    index: "Institution satisfaction index", institutionId: "Institution id", show: "Show",
    apiRef: "API reference", institutions: "Institutions", items: "Service items",
    none: "No results", total: "{n} in all", reasons: "Why", gaps: "Gaps",
    signedIn: "Signed in: {name}", registered: "Registered; now sign in",
    rated: "Rating sent, thank you", reported: "Filed, id {id}", ratings: "Ratings",
    satisfied: "Satisfied", badRate: "Bad reviews", onTime: "Rectified on time", facets: "Facets",
  },
};
let lang = localStorage.getItem("lang") || "zh";
const t = (key, vars = {}) =>
  (TEXT[lang][key] || key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));

function applyLanguage() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.title = t("title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const button = document.getElementById("lang");
  button.textContent = lang === "zh" ? "English" : "中文";
  button.setAttribute("aria-pressed", String(lang === "en"));
}

async function call(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem("token");
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const reply = await fetch(API + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await reply.json();
  if (!reply.ok) {
    const bad = (data.details || []).flatMap((d) => d.fieldViolations || []);
    const fields = bad.map((v) => `${v.field}: ${v.description}`).join("; ");
    throw new Error(fields || data.message || reply.statusText);
  }
  return data;
}

const el = (tag, text, cls) => {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
};
function show(target, ...nodes) { document.getElementById(target).replaceChildren(...nodes); }
function fail(target, error) { show(target, el("p", error.message, "error")); }
function list(items, render) {
  if (!items.length) return el("p", t("none"), "muted");
  const ul = el("ul", undefined, "results");
  for (const item of items) { const li = el("li"); li.append(...render(item)); ul.append(li); }
  return ul;
}
const region = () =>
  document.getElementById("city").value || document.getElementById("province").value;

async function fillDivisions(select, parentCode) {
  const query = parentCode ? `?parentCode=${parentCode}` : "";
  const { divisions = [] } = await call("GET", `/v1/divisions${query}`);
  const keep = select.id === "city" ? [select.options[0]] : [];
  select.replaceChildren(...keep);
  for (const d of divisions) select.append(new Option(d.name, d.code));
}

async function find(event) {
  event.preventDefault();
  const params = new URLSearchParams({ query: document.getElementById("q").value, pageSize: "10" });
  if (region()) params.set("regionCode", region());
  try {
    const [inst, items] = await Promise.all([
      call("GET", `/v1/institutions:search?${params}`),
      call("GET", `/v1/serviceItems:search?${params}`),
    ]);
    show("find-out",
      el("h3", t("institutions")),
      list(inst.institutions || [], (i) => [el("strong", i.name), el("span", ` ${i.regionCode} · ${i.institutionId}`, "muted")]),
      el("h3", t("items")),
      list(items.items || [], (i) => [el("strong", i.name), el("p", i.description || "", "muted")]));
  } catch (e) { fail("find-out", e); }
}

async function match(event) {
  event.preventDefault();
  const ipc = document.getElementById("ipc").value.trim();
  const profile = { regionCode: region(), needsText: document.getElementById("needs").value };
  if (ipc) profile.ipcFields = [ipc];
  try {
    const { matches = [] } = await call("POST", "/v1/serviceItems:match", { profile, maxResults: 5 });
    show("match-out", list(matches, (m) => [
      el("strong", `${m.item?.name ?? ""} — ${m.institution?.name ?? ""}`),
      el("p", `${t("reasons")}: ${(m.reasons || []).join("；")}`),
      ...(m.gaps?.length ? [el("p", `${t("gaps")}: ${m.gaps.join("；")}`, "muted")] : []),
    ]));
  } catch (e) { fail("match-out", e); }
}

let nextPage = "";
async function searchRecords(event) {
  if (event) { event.preventDefault(); nextPage = ""; }
  const kind = document.getElementById("pkind").value;
  const params = new URLSearchParams({ query: document.getElementById("pq").value, pageSize: "10" });
  if (nextPage) params.set("pageToken", nextPage);
  if (kind === "patents") { params.append("facets", "ipc_section"); params.append("facets", "year"); }
  try {
    const data = await call("GET", `/v1/${kind}:search?${params}`);
    const records = data.patents || data.trademarks || [];
    const facets = (data.facets || []).map((f) =>
      el("p", `${f.name}: ${(f.counts || []).map((c) => `${c.value} (${c.count})`).join(", ")}`, "muted"));
    show("patents-out",
      el("p", t("total", { n: data.totalSize ?? records.length })),
      ...(facets.length ? [el("h3", t("facets")), ...facets] : []),
      list(records, (r) => [el("strong", r.title || r.markText || ""), el("span", ` ${r.applicationNumber}`, "muted")]));
    nextPage = data.nextPageToken || "";
    document.getElementById("more").hidden = !nextPage;
  } catch (e) { fail("patents-out", e); }
}

async function account(event) {
  event.preventDefault();
  const login = document.getElementById("login").value.trim();
  const password = document.getElementById("password").value;
  const out = document.getElementById("account-out");
  try {
    if (event.submitter?.value === "register") {
      const who = login.includes("@") ? { email: login } : { mobile: login };
      await call("POST", "/v1/persons", { displayName: document.getElementById("name").value, password, ...who });
      out.textContent = t("registered");
      return;
    }
    const signed = await call("POST", "/v1/tokens:signIn", { login, password });
    sessionStorage.setItem("token", signed.accessToken);
    out.textContent = t("signedIn", { name: signed.person?.displayName ?? login });
  } catch (e) { out.textContent = e.message; out.className = "error"; }
}

async function rate(event) {
  event.preventDefault();
  const out = document.getElementById("rate-out");
  try {
    await call("POST", "/v1/ratings", {
      ratingToken: document.getElementById("token").value.trim(),
      level: document.getElementById("level").value,
      comment: document.getElementById("comment").value,
      channel: "RATING_CHANNEL_ONLINE",
    });
    out.textContent = t("rated");
  } catch (e) { out.textContent = e.message; out.className = "error"; }
}

async function report(event) {
  event.preventDefault();
  const out = document.getElementById("report-out");
  try {
    const made = await call("POST", "/v1/reports", {
      kind: document.getElementById("rkind").value,
      source: "COLLECTION_POINT_ONLINE_FORM",
      regionCode: region(),
      text: document.getElementById("rtext").value,
    });
    out.textContent = t("reported", { id: made.reportId ?? "" });
  } catch (e) { out.textContent = e.message; out.className = "error"; }
}

async function satisfaction(event) {
  event.preventDefault();
  const id = encodeURIComponent(document.getElementById("inst").value.trim());
  try {
    const i = await call("GET", `/v1/satisfactionIndex?institutionId=${id}`);
    const pct = (x) => `${((x || 0) * 100).toFixed(1)}%`;
    const dl = el("dl");
    for (const [k, v] of [["ratings", i.ratingCount], ["satisfied", pct(i.satisfiedShare)],
      ["badRate", pct(i.badReviewRate)], ["onTime", pct(i.rectificationOnTimeRate)]]) {
      dl.append(el("dt", t(k)), el("dd", String(v ?? 0)));
    }
    show("index-out", dl);
  } catch (e) { fail("index-out", e); }
}

document.addEventListener("DOMContentLoaded", async () => {
  applyLanguage();
  document.getElementById("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("lang", lang);
    applyLanguage();
  });
  document.getElementById("find").addEventListener("submit", find);
  document.getElementById("match").addEventListener("submit", match);
  document.getElementById("patents").addEventListener("submit", searchRecords);
  document.getElementById("more").addEventListener("click", () => searchRecords());
  document.getElementById("account").addEventListener("submit", account);
  document.getElementById("rate").addEventListener("submit", rate);
  document.getElementById("report").addEventListener("submit", report);
  document.getElementById("index").addEventListener("submit", satisfaction);
  const token = new URLSearchParams(location.search).get("rating");
  if (token) document.getElementById("token").value = token;
  const province = document.getElementById("province");
  province.addEventListener("change", () => fillDivisions(document.getElementById("city"), province.value));
  try {
    await fillDivisions(province, "");
    await fillDivisions(document.getElementById("city"), province.value);
  } catch (e) { fail("find-out", e); }
});
