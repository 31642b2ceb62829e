// spotcheck: re-computing a published draw in the browser, from the
// published manifest and record alone, as docs/draw-spec.md defines it
// (server/draw is the reference). SHA-256 is the browser's own (WebCrypto,
// available on https and on the local machine); ratios are exact decimals
// computed with BigInt, never floating point. Loaded only by the public
// draw page; no inline script anywhere (the Content-Security-Policy allows
// none).
"use strict";

(function () {
  var utf8 = new TextEncoder();
  var HEX = [];
  for (var i = 0; i < 256; i++) {
    HEX.push((i < 16 ? "0" : "") + i.toString(16));
  }

  function hex(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i++) {
      s += HEX[bytes[i]];
    }
    return s;
  }

  function unhex(s) {
    if (!/^[0-9a-f]{64}$/.test(s)) {
      throw new Error("不是64位十六进制摘要");
    }
    var out = new Uint8Array(32);
    for (var i = 0; i < 32; i++) {
      out[i] = parseInt(s.substr(2 * i, 2), 16);
    }
    return out;
  }

  function concat(parts) {
    var n = 0;
    parts.forEach(function (p) { n += p.length; });
    var out = new Uint8Array(n);
    var at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // seed = SHA-256("spotcheck/draw/v1" ‖ 0x00 ‖ digest ‖ for each value: 0x00 ‖ value)
  async function seed(digestHex, values) {
    var parts = [utf8.encode("spotcheck/draw/v1"), new Uint8Array(1), unhex(digestHex)];
    values.forEach(function (v) { parts.push(new Uint8Array(1), utf8.encode(v)); });
    return hex(await sha256(concat(parts)));
  }

  // ticket = SHA-256(seed ‖ UTF-8(stratum) ‖ 0x00 ‖ UTF-8(id))
  function ticketPrefix(seedHex, stratum) {
    return concat([unhex(seedHex), utf8.encode(stratum), new Uint8Array(1)]);
  }

  async function ticketWith(prefix, id) {
    return hex(await sha256(concat([prefix, utf8.encode(id)])));
  }

  async function ticket(seedHex, stratum, id) {
    return ticketWith(ticketPrefix(seedHex, stratum), id);
  }

  // A ratio is a plain decimal in [0, 1] in its one canonical form: no sign,
  // exponent or trailing zero ("0.15", "1", "0.033").
  var RATIO = /^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$/;

  function parseRatio(s) {
    if (!RATIO.test(s) || s.length > 40) {
      throw new Error("比例“" + s + "”不是规范的小数");
    }
    var parts = s.split(".");
    var frac = parts[1] || "";
    var r = { num: BigInt(parts[0] + frac), den: 10n ** BigInt(frac.length), text: s };
    if (r.num > r.den) {
      throw new Error("比例“" + s + "”大于1");
    }
    return r;
  }

  // k = ceil(r × n) = (a·n + 10^d − 1) div 10^d, exactly.
  function count(ratio, n) {
    var r = typeof ratio === "string" ? parseRatio(ratio) : ratio;
    return Number((r.num * BigInt(n) + r.den - 1n) / r.den);
  }

  // cmpBytes orders strings by their UTF-8 bytes (which is code point order):
  // UTF-16 code units differ from it only between surrogates and U+E000–U+FFFF.
  function cmpBytes(a, b) {
    var n = Math.min(a.length, b.length);
    for (var i = 0; i < n; i++) {
      var x = a.charCodeAt(i), y = b.charCodeAt(i);
      if (x !== y) {
        if (x >= 0xd800 && y >= 0xd800) {
          x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
          y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
        }
        return x < y ? -1 : 1;
      }
    }
    return a.length - b.length;
  }

  // Items are ordered by (ticket, id); lowercase hex compares as the bytes do.
  function cmpItem(a, b) {
    if (a.ticket !== b.ticket) {
      return a.ticket < b.ticket ? -1 : 1;
    }
    return cmpBytes(a.id, b.id);
  }

  var FORMATS = { "spotcheck-manifest/v1": 1, "spotcheck-manifest/v2": 2, "spotcheck-manifest/v3": 3 };
  var ARITY = {
    algorithm: 2, campaign: 2, name: 2, window: 3, lead: 2, department: 3, material: 4, filter: 3,
    exclusion_months: 2, ratio: 3, team: 3, randomness: 3, sources_available_at: 2, inspector: 3,
    recusal: 3, recusal_commitment: 2, exclusion: 3, population: 3
  };
  var INTEGER = /^(0|-?[1-9][0-9]*)$/;
  var TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
  // EDGE_SPACE is white space at either end of a field, as Go's
  // strings.TrimSpace sees it (unicode.IsSpace), which a manifest refuses.
  var EDGE_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/;

  // parseManifest reads a manifest (v1, v2 or v3) and refuses it unless it
  // re-encodes to exactly the text read, as a verifier must (spec §8).
  function parseManifest(text) {
    var lines = text.split("\n");
    if (lines.length < 2 || lines[lines.length - 1] !== "") {
      throw new Error("清单须以换行符结束");
    }
    lines.pop();
    var m = {
      version: FORMATS[lines[0]], head: {}, departments: [], ratios: new Map(), randomness: [],
      inspectors: [], recusals: [], commitments: [], exclusions: [], population: []
    };
    if (!m.version) {
      throw new Error("第1行不是清单格式名");
    }
    for (var n = 1; n < lines.length; n++) {
      var f = lines[n].split("\t");
      var where = "清单第" + (n + 1) + "行";
      if (ARITY[f[0]] !== f.length) {
        throw new Error(where + "无法识别或字段数不对");
      }
      f.forEach(function (x) {
        if (EDGE_SPACE.test(x) || x.indexOf("\r") >= 0) {
          throw new Error(where + "的字段首尾有空白");
        }
      });
      switch (f[0]) {
        case "algorithm":
          if (f[1] !== "sc-sha256-v1") {
            throw new Error(where + "的算法不是 sc-sha256-v1");
          }
          m.head.algorithm = f[1];
          break;
        case "department":
          m.departments.push({ code: f[1], items: f[2], materials: [] });
          break;
        case "material":
          var d = m.departments.find(function (x) { return x.code === f[1]; });
          if (!d) {
            throw new Error(where + "的材料所属部门不在前面的部门行中");
          }
          if (d.materials.indexOf(f[3]) >= 0 || f[3] === "") {
            throw new Error(where + "的材料重复或为空");
          }
          d.materials.push(f[3]);
          m.head.material = true;
          break;
        case "filter":
          if (["category", "districts", "status"].indexOf(f[1]) < 0) {
            throw new Error(where + "的筛选条件无法识别");
          }
          m.head["filter " + f[1]] = f[2];
          break;
        case "team":
          if (["inspectors_per_department", "targets_per_team"].indexOf(f[1]) < 0 || !INTEGER.test(f[2])) {
            throw new Error(where + "的分组规则无法识别");
          }
          m.head["team " + f[1]] = f[2];
          break;
        case "ratio":
          m.ratios.set(f[1], parseRatio(f[2]));
          break;
        case "randomness":
          m.randomness.push(f[2]);
          break;
        case "inspector":
          m.inspectors.push({ department: f[1], certificate: f[2] });
          break;
        case "recusal":
          m.recusals.push({ certificate: f[1], code: f[2] });
          break;
        case "recusal_commitment":
          unhex(f[1]);
          m.commitments.push(f[1]);
          break;
        case "exclusion":
          m.exclusions.push(f[1] + "\t" + f[2]);
          break;
        case "population":
          m.population.push({ code: f[1], stratum: f[2] });
          break;
        default: // campaign, name, window, lead, exclusion_months, sources_available_at
          if ((f[0] === "campaign" || f[0] === "exclusion_months") && !INTEGER.test(f[1])) {
            throw new Error(where + "不是整数");
          }
          m.head[f[0]] = f.slice(1).join("\t");
      }
    }
    checkManifest(m);
    if (encodeManifest(m, lines[0]) !== text) {
      throw new Error("清单不是规范格式（行的顺序、空白或数字写法不同）");
    }
    return m;
  }

  function checkManifest(m) {
    var sorted = function (list, key, what) {
      for (var i = 1; i < list.length; i++) {
        if (cmpBytes(key(list[i - 1]), key(list[i])) >= 0) {
          throw new Error(what + "未按顺序排列或有重复");
        }
      }
    };
    sorted(m.population, function (p) { return p.code; }, "抽取范围");
    sorted(m.inspectors, function (r) { return r.department + "\u0000" + r.certificate; }, "执法人员名单");
    sorted(m.commitments, function (c) { return c; }, "回避承诺");
    m.population.forEach(function (p) {
      if (!m.ratios.has(p.stratum)) {
        throw new Error("分层“" + p.stratum + "”没有比例");
      }
    });
    if (m.randomness.length === 0) {
      throw new Error("清单没有写明公开随机数来源");
    }
    if (m.version === 1 && (m.head.sources_available_at !== undefined || m.commitments.length > 0 || m.head.material)) {
      throw new Error("第1版清单不应有来源公布时间、回避承诺或材料");
    }
    if (m.version >= 2) {
      if (m.recusals.length > 0 || !TIME.test(m.head.sources_available_at || "")) {
        throw new Error("第" + m.version + "版清单须写明来源公布时间，且只列回避承诺");
      }
    }
    if (m.version === 2 && m.head.material) {
      throw new Error("第2版清单没有材料行");
    }
  }

  // encodeManifest writes m in the canonical encoding (spec §8).
  function encodeManifest(m, format) {
    var out = [];
    var line = function () { out.push(Array.prototype.join.call(arguments, "\t") + "\n"); };
    var h = m.head;
    line(format);
    line("algorithm", h.algorithm);
    line("campaign", h.campaign);
    line("name", h.name);
    line("window", h.window);
    line("lead", h.lead);
    m.departments.forEach(function (d) { line("department", d.code, d.items); });
    m.departments.forEach(function (d) {
      d.materials.forEach(function (t, i) { line("material", d.code, i + 1, t); });
    });
    line("filter", "category", h["filter category"]);
    line("filter", "districts", h["filter districts"]);
    line("filter", "status", h["filter status"]);
    line("exclusion_months", h.exclusion_months);
    Array.from(m.ratios.keys()).sort(cmpBytes).forEach(function (s) { line("ratio", s, m.ratios.get(s).text); });
    line("team", "inspectors_per_department", h["team inspectors_per_department"]);
    line("team", "targets_per_team", h["team targets_per_team"]);
    m.randomness.forEach(function (r, i) { line("randomness", i + 1, r); });
    if (m.version >= 2) {
      line("sources_available_at", h.sources_available_at);
    }
    m.inspectors.forEach(function (r) { line("inspector", r.department, r.certificate); });
    m.recusals.forEach(function (r) { line("recusal", r.certificate, r.code); });
    m.commitments.forEach(function (c) { line("recusal_commitment", c); });
    m.exclusions.forEach(function (e) { line("exclusion", e); });
    m.population.forEach(function (p) { line("population", p.code, p.stratum); });
    return out.join("");
  }

  // Lowest keeps, of a stream of items, the limit lowest (ticket, id): a
  // buffer that is cut back to the limit when it has grown to twice it, so
  // a large stratum never needs all its tickets in memory.
  function Lowest(limit) {
    this.limit = limit;
    this.items = [];
    this.cut = null;
  }
  Lowest.prototype.add = function (it) {
    if (this.limit === 0 || (this.cut && cmpItem(it, this.cut) >= 0)) {
      return;
    }
    this.items.push(it);
    if (this.items.length >= 2 * this.limit + 1024) {
      this.shrink();
    }
  };
  Lowest.prototype.shrink = function () {
    this.items.sort(cmpItem);
    if (this.items.length > this.limit) {
      this.items.length = this.limit;
      this.cut = this.items[this.limit - 1];
    }
    return this.items;
  };

  // tickets computes the ticket of every population member in its stratum,
  // in chunks (so the page stays responsive), and returns per stratum its
  // size and its limit lowest items, ascending. progress(done, total) is
  // called after each chunk.
  async function tickets(seedHex, population, limitOf, progress) {
    var strata = new Map();
    population.forEach(function (p) {
      var s = strata.get(p.stratum);
      if (!s) {
        s = { n: 0, prefix: ticketPrefix(seedHex, p.stratum) };
        strata.set(p.stratum, s);
      }
      s.n++;
    });
    strata.forEach(function (s, name) { s.lowest = new Lowest(Math.min(s.n, limitOf(name, s.n))); });
    var chunk = 2000;
    for (var at = 0; at < population.length; at += chunk) {
      var part = population.slice(at, at + chunk);
      var hashes = await Promise.all(part.map(function (p) {
        return ticketWith(strata.get(p.stratum).prefix, p.code);
      }));
      part.forEach(function (p, i) {
        strata.get(p.stratum).lowest.add({ id: p.code, stratum: p.stratum, ticket: hashes[i] });
      });
      if (progress) {
        await progress(Math.min(at + chunk, population.length), population.length);
      }
    }
    strata.forEach(function (s) { s.sorted = s.lowest.shrink(); });
    return strata;
  }

  // sample is the first selection (spec §5): every stratum's k lowest, all
  // together in ascending (ticket, id). For the cross-check with server/draw.
  async function sample(seedHex, items, ratios) {
    var population = items.map(function (it) { return { code: it.id, stratum: it.stratum }; });
    var parsed = new Map();
    Object.keys(ratios).forEach(function (s) { parsed.set(s, parseRatio(ratios[s])); });
    var strata = await tickets(seedHex, population, function (s, n) { return count(parsed.get(s), n); });
    var out = [];
    strata.forEach(function (s) { out = out.concat(s.sorted); });
    return out.sort(cmpItem);
  }

  // The record's items compare field by field with the re-computed ones.
  function sameItem(rec, it) {
    return rec && rec.credit_code === it.id && rec.stratum === it.stratum && rec.ticket === it.ticket;
  }

  function Mismatch(title, detail) {
    this.title = title;
    this.detail = detail;
  }

  function itemText(rec) {
    if (!rec) {
      return ["无"];
    }
    return [{ code: rec.credit_code }, "（签号 ", { code: short(rec.ticket) }, "）"];
  }

  function computedText(it) {
    if (!it) {
      return ["无"];
    }
    return [{ code: it.id }, "（签号 ", { code: short(it.ticket) }, "）"];
  }

  function short(t) {
    return typeof t === "string" && t.length > 12 ? t.slice(0, 12) + "…" : String(t);
  }

  // stratumName is the page's name of a stratum: the empty one is 全部, a
  // risk class with its own ratio is 〈A〉类.
  function stratumName(s) {
    return s === "" ? ["全部"] : [{ code: s }, "类"];
  }

  // verifyDraw re-computes the draw from the manifest bytes and the record
  // and reports each step to step(title, detail) as it passes; the first
  // disagreement is thrown as a Mismatch. committedDigest is the digest the
  // page shows.
  async function verifyDraw(manifestBytes, record, committedDigest, step, progress) {
    var digest = hex(await sha256(manifestBytes));
    if (digest !== committedDigest || digest !== record.manifest_digest) {
      throw new Mismatch("清单摘要不一致", ["下载的清单的 SHA-256 为 ", { code: digest },
        "，公示的清单摘要为 ", { code: committedDigest }, "，抽取记录所载为 ", { code: String(record.manifest_digest) }, "。"]);
    }
    var text = new TextDecoder("utf-8", { fatal: true }).decode(manifestBytes);
    if (record.manifest !== text) {
      throw new Mismatch("抽取记录所附清单不一致", ["抽取记录所附的清单与下载的清单（其 SHA-256 即公示的摘要）不同。"]);
    }
    step("清单摘要一致", ["清单共 " + manifestBytes.length + " 字节，其 SHA-256 为 ", { code: digest }, "，与公示的清单摘要一致。"]);

    var m;
    try {
      m = parseManifest(text);
    } catch (e) {
      throw new Mismatch("清单格式不符合规范", [e.message + "。"]);
    }
    if (record.format !== "spotcheck-draw-record/v2" && record.format !== "spotcheck-draw-record/v1") {
      throw new Mismatch("抽取记录格式无法识别", [{ code: String(record.format) }]);
    }
    if (record.algorithm !== "sc-sha256-v1" || String(record.campaign_id) !== m.head.campaign) {
      throw new Mismatch("抽取记录与清单不一致", ["记录的算法或抽查编号与清单不同。"]);
    }
    // Late recusals: in the clear only with a v1 manifest, else committed.
    if ((m.version === 1 && (record.late_recusal_commitments || []).length > 0) ||
        (m.version >= 2 && (record.late_recusals || []).length > 0)) {
      throw new Mismatch("抽取记录与清单不一致", ["第 " + m.version + " 版清单的抽取记录不应" +
        (m.version === 1 ? "有回避承诺。" : "公开回避人员与企业的对应关系，只应列回避承诺。")]);
    }
    step("清单格式规范", ["第 " + m.version + " 版清单，抽取范围 " + m.population.length + " 户，" + m.ratios.size + " 个分层比例，" +
      m.randomness.length + " 个公开随机数来源。"]);

    if (m.version >= 2) {
      var avail = m.head.sources_available_at;
      if (record.format !== "spotcheck-draw-record/v2" || record.sources_available_at !== avail ||
          !TIME.test(record.committed_at || "") || !(record.committed_at < avail) ||
          (record.drawn_at === undefined ? !!record.seed : (!TIME.test(record.drawn_at) || record.drawn_at < avail))) {
        throw new Mismatch("时间顺序不一致", ["提交时间 ", { code: String(record.committed_at) }, "、来源最早公布时间 ", { code: String(record.sources_available_at) },
          "（清单为 ", { code: avail }, "）、摇号时间 ", { code: String(record.drawn_at) }, " 不符合“提交早于来源公布、摇号不早于来源公布”。"]);
      }
      step("时间顺序一致", ["清单提交于随机数来源公布之前，摇号不早于来源公布。"]);
    }

    if (!record.seed) {
      if ((record.selection || []).length > 0 || record.drawn_at) {
        throw new Mismatch("种子不一致", ["抽取记录有抽中名单，却没有种子。"]);
      }
      step("尚未摇号", ["公开随机数公布并摇号后，可再核验种子和抽中名单。"]);
      return { drawn: false };
    }
    var values = record.randomness || [];
    if (values.length !== m.randomness.length) {
      throw new Mismatch("种子不一致", ["抽取记录有 " + values.length + " 个公开随机数，清单写明 " + m.randomness.length + " 个来源。"]);
    }
    var s = await seed(digest, values);
    if (s !== record.seed) {
      throw new Mismatch("种子不一致", ["记录的种子为 ", { code: String(record.seed) }, "，由清单摘要和公开随机数重新计算得 ", { code: s }, "。"]);
    }
    step("种子一致", ["由清单摘要和 " + values.length + " 个公开随机数重新计算得种子 ", { code: s }, "，与记录一致。"]);

    // Tickets: every stratum keeps its k lowest, and as many more as there
    // are replacements (a replacement takes the next ticket of its stratum).
    var replacements = record.replacements || [];
    var strata = await tickets(s, m.population, function (name, n) {
      return count(m.ratios.get(name), n) + replacements.length;
    }, progress);
    step("签号计算完成", ["已为抽取范围内全部 " + m.population.length + " 户逐一计算签号。"]);

    var selection = record.selection || [];
    var computed = [];
    var names = Array.from(strata.keys()).sort(cmpBytes);
    for (var i = 0; i < names.length; i++) {
      var st = strata.get(names[i]);
      var ratio = m.ratios.get(names[i]);
      var k = count(ratio, st.n);
      var want = st.sorted.slice(0, k);
      var got = selection.filter(function (r) { return r.stratum === names[i]; });
      var label = ["分层“"].concat(stratumName(names[i]), ["”"]);
      var facts = "范围 " + st.n + " 户，比例 " + ratio.text + "，应抽 ⌈" + ratio.text + " × " + st.n + "⌉ = " + k + " 户";
      for (var j = 0; j < Math.max(k, got.length); j++) {
        if (!sameItem(got[j], want[j] || {})) {
          throw new Mismatch(label.concat(["抽中名单不一致"]), [facts + "；记录抽中 " + got.length + " 户。按签号从小到大第 " + (j + 1) + " 户：记录为 "]
            .concat(itemText(got[j]), ["，重新计算为 "], computedText(want[j]), ["。"]));
        }
      }
      var cut = k > 0 ? ["，截止签号（第 " + k + " 小）", { code: short(want[k - 1].ticket) }] : [];
      step(label.concat(["抽中名单一致"]), [facts].concat(cut, ["，" + k + " 户与记录一致。"]));
      computed = computed.concat(want);
    }
    computed.sort(cmpItem);
    for (var x = 0; x < Math.max(computed.length, selection.length); x++) {
      if (!sameItem(selection[x], computed[x] || {})) {
        throw new Mismatch("抽中名单不一致", ["记录的抽中名单共 " + selection.length + " 户，重新计算为 " + computed.length + " 户；第 " + (x + 1) + " 条：记录为 "]
          .concat(itemText(selection[x]), ["，重新计算为 "], computedText(computed[x]), ["。"]));
      }
    }
    step("抽中名单一致", ["共 " + computed.length + " 户，按签号从小到大排列，与记录逐条一致。"]);

    // Replacements, in order: each takes the next never-selected ticket of
    // the replaced target's stratum (spec §6).
    var current = new Map();
    var used = new Map();
    computed.forEach(function (it) { current.set(it.id, it); });
    names.forEach(function (n) { used.set(n, count(m.ratios.get(n), strata.get(n).n)); });
    for (var r = 0; r < replacements.length; r++) {
      var rp = replacements[r];
      var where = "第 " + (r + 1) + " 条替换";
      if (rp.seq !== r + 1) {
        throw new Mismatch("替换记录不一致", [where + "的序号为 " + rp.seq + "，应为 " + (r + 1) + "。"]);
      }
      var gone = current.get(rp.replaced);
      if (!gone) {
        throw new Mismatch("替换记录不一致", [where + "：被替换的 ", { code: String(rp.replaced) }, " 不是当时的检查对象。"]);
      }
      var sorted = strata.get(gone.stratum).sorted;
      var next = sorted[used.get(gone.stratum)];
      if (!sameItem(rp.replacement, next || {})) {
        throw new Mismatch("替换记录不一致", [where + "：替换为 "].concat(itemText(rp.replacement),
          ["，重新计算应为分层“"], stratumName(gone.stratum), ["”中下一个签号 "], computedText(next), ["。"]));
      }
      used.set(gone.stratum, used.get(gone.stratum) + 1);
      current.delete(rp.replaced);
      current.set(next.id, next);
    }
    step("替换记录一致", [replacements.length === 0 ? "没有替换。" :
      replacements.length + " 条替换依次取被替换企业所在分层的下一个签号，与记录一致。"]);

    var teams = record.teams || [];
    var matches = record.matches || [];
    if (teams.length > 0 || matches.length > 0) {
      await verifyTeams(m, s, record, Array.from(current.values()), step);
    }
    return { drawn: true, selected: computed.length, replacements: replacements.length, teams: teams.length };
  }

  // verifyTeams re-computes the teams member by member and checks the
  // matching as far as the public can (spec §7, §10): targets in match
  // ticket order with their tickets, no team over its capacity and, with
  // recusals committed rather than listed, no more matches off the rule
  // without recusals than there are commitments. With a v1 manifest the
  // recusals are public and the matching is re-computed exactly.
  async function verifyTeams(m, seedHex, record, targets, step) {
    var per = Number(m.head["team inspectors_per_department"]);
    var perTeam = Number(m.head["team targets_per_team"]);
    var ranked = new Map();
    for (var i = 0; i < m.inspectors.length; i++) {
      var r = m.inspectors[i];
      if (!ranked.has(r.department)) {
        ranked.set(r.department, []);
      }
      ranked.get(r.department).push({ id: r.certificate, department: r.department, ticket: await ticket(seedHex, r.department, r.certificate) });
    }
    var g = Math.ceil(targets.length / perTeam);
    m.departments.forEach(function (d) {
      var list = (ranked.get(d.code) || []).sort(cmpItem);
      ranked.set(d.code, list);
      g = Math.min(g, Math.floor(list.length / per));
    });
    var teams = record.teams || [];
    if (g === 0 || teams.length !== g) {
      throw new Mismatch("分组不一致", ["记录有 " + teams.length + " 个检查组，重新计算为 " + g + " 个。"]);
    }
    var members = [];
    for (var t = 0; t < g; t++) {
      var want = [];
      m.departments.forEach(function (d) { want = want.concat(ranked.get(d.code).slice(t * per, (t + 1) * per)); });
      members.push(want);
      var got = teams[t].members || [];
      if (teams[t].team !== t + 1 || got.length !== want.length) {
        throw new Mismatch("分组不一致", ["第 " + (t + 1) + " 组：记录为第 " + teams[t].team + " 组、" + got.length + " 人，重新计算为 " + want.length + " 人。"]);
      }
      for (var j = 0; j < want.length; j++) {
        var a = got[j], b = want[j];
        if (a.department !== b.department || a.certificate !== b.id || a.ticket !== b.ticket) {
          throw new Mismatch("分组不一致", ["第 " + (t + 1) + " 组第 " + (j + 1) + " 人：记录为 ", { code: String(a.certificate) },
            "，重新计算为 ", { code: b.id }, "（签号 ", { code: short(b.ticket) }, "）。"]);
        }
      }
    }
    step("检查组一致", [g + " 个检查组，每组成员按各部门执法人员签号从小到大依次组成，与记录逐人一致。"]);

    var ordered = [];
    for (var x = 0; x < targets.length; x++) {
      ordered.push({ id: targets[x].id, ticket: await ticket(seedHex, "match/" + targets[x].stratum, targets[x].id) });
    }
    ordered.sort(cmpItem);
    var matches = record.matches || [];
    if (matches.length !== ordered.length) {
      throw new Mismatch("匹配不一致", ["记录有 " + matches.length + " 条匹配，当前检查对象为 " + ordered.length + " 户。"]);
    }
    var capacity = Math.ceil(ordered.length / g);
    var load = new Array(g).fill(0);
    var recused = new Set();
    var known = m.version === 1;
    if (known) {
      m.recusals.concat((record.late_recusals || []).map(function (p) { return { certificate: p.certificate, code: p.credit_code }; }))
        .forEach(function (p) { recused.add(p.certificate + "\u0000" + p.code); });
    }
    var commitments = m.commitments.length + (record.late_recusal_commitments || []).length;
    var deviations = 0;
    for (var y = 0; y < ordered.length; y++) {
      var mt = matches[y], it = ordered[y];
      if (mt.credit_code !== it.id || mt.ticket !== it.ticket) {
        throw new Mismatch("匹配不一致", ["第 " + (y + 1) + " 条匹配：记录为 ", { code: String(mt.credit_code) }, "，按匹配签号顺序应为 ", { code: it.id }, "。"]);
      }
      var best = -1;
      for (var u = 0; u < g; u++) {
        if (load[u] >= capacity || (best >= 0 && load[u] >= load[best])) {
          continue;
        }
        if (known && members[u].some(function (mb) { return recused.has(mb.id + "\u0000" + it.id); })) {
          continue;
        }
        best = u;
      }
      if (mt.team < 1 || mt.team > g || load[mt.team - 1] >= capacity || (known && mt.team !== best + 1)) {
        throw new Mismatch("匹配不一致", ["第 " + (y + 1) + " 条匹配：", { code: it.id }, " 记录分到第 " + mt.team + " 组，" +
          (known ? "重新计算为第 " + (best + 1) + " 组。" : "超出检查组范围或该组已满（每组至多 " + capacity + " 户）。")]);
      }
      if (mt.team !== best + 1) {
        deviations++;
      }
      load[mt.team - 1]++;
    }
    if (deviations > commitments) {
      throw new Mismatch("匹配不一致", [deviations + " 条匹配偏离不计回避时的规则，多于回避承诺数 " + commitments + "。"]);
    }
    step("匹配一致", [known ? ordered.length + " 户检查对象的匹配与重新计算逐条一致。" :
      ordered.length + " 户检查对象按匹配签号顺序分配，每组不超过 " + capacity + " 户；" + deviations +
      " 条因回避偏离规则，不多于回避承诺数 " + commitments + "（回避的具体内容仅审计人员可核验）。"]);
  }

  // The page: a button that downloads the manifest and the record and
  // shows each step.
  function append(el, parts) {
    parts.forEach(function (p) {
      if (typeof p === "string") {
        el.appendChild(document.createTextNode(p));
      } else {
        var c = document.createElement("code");
        c.textContent = p.code;
        el.appendChild(c);
      }
    });
  }

  function setup() {
    var box = document.getElementById("verify-browser");
    if (!box) {
      return;
    }
    var button = document.getElementById("verify-start");
    var status = document.getElementById("verify-status");
    var bar = document.getElementById("verify-progress");
    var list = document.getElementById("verify-steps");
    var say = function (cls, parts) {
      status.className = cls;
      status.textContent = "";
      append(status, parts);
    };
    document.getElementById("verify-nojs").hidden = true;
    button.hidden = false;
    if (!available()) {
      button.disabled = true;
      say("verify-unavailable", ["此浏览器无法在本页核验：浏览器只在 https 或本机地址打开的页面上提供 SHA-256 计算。请用下面的命令行工具离线核验。"]);
      return;
    }
    button.addEventListener("click", async function () {
      button.disabled = true;
      list.textContent = "";
      var passed = 0;
      var step = function (title, parts) {
        var li = document.createElement("li");
        li.className = "ok";
        var b = document.createElement("strong");
        append(b, [].concat(title));
        li.appendChild(b);
        li.appendChild(document.createTextNode("："));
        append(li, parts);
        list.appendChild(li);
        passed++;
      };
      var progress = function (done, total) {
        bar.hidden = false;
        bar.max = total;
        bar.value = done;
        say("", ["正在计算签号：" + done + " / " + total + " 户"]);
        return new Promise(function (resolve) { setTimeout(resolve, 0); });
      };
      try {
        say("", ["正在下载抽取清单和抽取记录……"]);
        var got = await Promise.all([fetch(box.dataset.manifest), fetch(box.dataset.record)]);
        if (!got[0].ok || !got[1].ok) {
          throw new Error("下载失败（状态 " + got[0].status + " / " + got[1].status + "）");
        }
        var manifest = new Uint8Array(await got[0].arrayBuffer());
        var record = await got[1].json();
        var res = await verifyDraw(manifest, record, box.dataset.digest, step, progress);
        bar.hidden = true;
        say("verify-ok", [res.drawn ?
          "核验通过：" + passed + " 项全部一致。本页在您的浏览器中独立重新计算，未采用服务器的计算结果。" :
          "核验通过：清单摘要一致；尚未摇号。"]);
        box.dataset.result = "ok";
      } catch (e) {
        bar.hidden = true;
        var li = document.createElement("li");
        li.className = "fail";
        var b = document.createElement("strong");
        append(b, [].concat(e instanceof Mismatch ? e.title : "无法核验"));
        li.appendChild(b);
        li.appendChild(document.createTextNode("："));
        append(li, e instanceof Mismatch ? e.detail : [e.message || String(e)]);
        list.appendChild(li);
        if (e instanceof Mismatch) {
          say("verify-fail", ["发现不一致：前 " + passed + " 项一致，第 " + (passed + 1) + " 项不一致（见下）。请用下面的命令行工具复核，并向组织抽查的部门反映。"]);
        } else {
          say("verify-fail", ["核验未能完成：" + (e.message || String(e)) + "。请用下面的命令行工具离线核验。"]);
        }
        box.dataset.result = "fail";
      } finally {
        button.disabled = false;
      }
    });
  }

  function available() {
    return !!(window.isSecureContext && window.crypto && window.crypto.subtle && typeof BigInt === "function" && window.TextEncoder);
  }

  window.spotcheckVerify = {
    seed: seed, ticket: ticket, count: count, sample: sample, parseManifest: parseManifest,
    verifyDraw: verifyDraw, cmpBytes: cmpBytes, available: available
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
