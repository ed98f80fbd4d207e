"""Prior, subsequent and concomitant therapy of the synthetic trial (CM).

Prior systemic lines (exactly PRIORLN lines, one with a PD-1 inhibitor: first-line nivolumab +
ipilimumab per CheckMate 743, platinum-pemetrexed with or without a PD-1 inhibitor, or PD-1
monotherapy in the second line; partial YYYY-MM dates before consent), subsequent anti-cancer
therapy after progression (gemcitabine/vinorelbine as in PROMISE-meso's comparator, anlotinib,
pemetrexed-carboplatin) and medication given for AEs (docs/synthetic-trial.md §7).
"""

from __future__ import annotations

from mpmlib.synth.draws import choice, uint
from mpmlib.synth.study import month

PD1_PRIOR = (["PEMBROLIZUMAB", "TORIPALIMAB", "SINTILIMAB", "TISLELIZUMAB", "CAMRELIZUMAB",
              "NIVOLUMAB"], [0.2, 0.25, 0.2, 0.15, 0.1, 0.1])
LATER_LINE_CHEMO = (["GEMCITABINE", "VINORELBINE", "ANLOTINIB"], [0.4, 0.4, 0.2])
SUBSEQUENT = ([["GEMCITABINE"], ["VINORELBINE"], ["ANLOTINIB"], ["PEMETREXED", "CARBOPLATIN"]],
              [0.35, 0.30, 0.20, 0.15])
P_SUBSEQUENT_THERAPY = 0.50


def sim_prior_therapy(S) -> None:
    """Prior systemic lines (CMCAT PRIOR ANTI-CANCER THERAPY, partial dates YYYY-MM).

    Exactly PRIORLN lines; one of them contains a PD-1 inhibitor (first-line nivolumab +
    ipilimumab per CheckMate 743, or platinum-pemetrexed + PD-1, or PD-1 monotherapy in the
    second line). Duration of the PD-1 line: 2-5 months for primary, 6-18 months for acquired
    resistance. The last line ends 1-3 months before consent.
    """
    rng = S.rng
    lines: list[tuple[list[str], bool]] = []  # (drugs, is_pd1_line)
    platin = "CISPLATIN" if rng.random() < 0.5 else "CARBOPLATIN"
    pd1 = choice(rng, *PD1_PRIOR)
    if S.priorln == 1:
        if rng.random() < 0.5:
            lines.append((["NIVOLUMAB", "IPILIMUMAB"], True))
        else:
            lines.append((["PEMETREXED", platin, pd1], True))
    else:
        if rng.random() < 0.3:
            lines += [(["NIVOLUMAB", "IPILIMUMAB"], True), (["PEMETREXED", platin], False)]
        else:
            lines += [(["PEMETREXED", platin], False), ([pd1], True)]
        if S.priorln == 3:
            lines.append(([choice(rng, *LATER_LINE_CHEMO)], False))
    end = S.consent - uint(rng, 30, 90)
    for drugs, is_pd1 in reversed(lines):
        if is_pd1:
            dur = uint(rng, 60, 150) if S.pd1res == "PRIMARY" else uint(rng, 180, 540)
        else:
            dur = uint(rng, 90, 150)
        start = end - dur
        lineno = lines.index((drugs, is_pd1)) + 1
        for drug in drugs:
            S.rec["cm"].append(dict(trt=drug, cat="PRIOR ANTI-CANCER THERAPY",
                                    scat=f"LINE {lineno}", indc="MESOTHELIOMA",
                                    start=month(start), end=month(end), sortday=start))
        end = start - uint(rng, 20, 90)


def sim_post_therapy(S) -> None:
    """Subsequent anti-cancer therapy (~40 % of progressed subjects, 2-8 weeks after end of
    treatment) and concomitant medication linked to AEs (paracetamol for fever, levothyroxine
    for hypothyroidism, corticosteroids for grade ≥ 2 pneumonitis or colitis)."""
    rng = S.rng
    progressed = S.first_pd is not None or S.eot_reason == "PROGRESSIVE DISEASE"
    if progressed and S.t_stop is not None and rng.random() < P_SUBSEQUENT_THERAPY:
        anchor = max(S.t_stop, S.scans[S.first_pd]["t"] if S.first_pd is not None else 0)
        start = anchor + uint(rng, 14, 60)
        stop = start + uint(rng, 42, 150)
        drugs = SUBSEQUENT[0][int(rng.choice(len(SUBSEQUENT[0]), p=SUBSEQUENT[1]))]
        if start <= S.last_ok:
            for drug in drugs:
                S.rec["cm"].append(dict(trt=drug, cat="SUBSEQUENT ANTI-CANCER THERAPY",
                                        scat="", indc="MESOTHELIOMA", start=S.d0 + start,
                                        end=S.d0 + stop if stop <= S.last_ok else None,
                                        sortday=S.d0 + start))
    seen = set()
    for ae in S.rec["ae"]:
        med = None
        if ae["term"] == "Fever" and "Fever" not in seen and rng.random() < 0.5:
            med = "PARACETAMOL"
        elif ae["term"] == "Hypothyroidism" and ae["grade"] >= 2:
            med = "LEVOTHYROXINE"
        elif ae["term"] in ("Pneumonitis", "Colitis") and ae["grade"] >= 2:
            med = "METHYLPREDNISOLONE"
        if med is None:
            continue
        seen.add(ae["term"])
        S.rec["cm"].append(dict(trt=med, cat="CONCOMITANT MEDICATION", scat="",
                                indc=ae["term"].upper(), start=S.d0 + ae["start"],
                                end=None if ae["end"] is None else S.d0 + ae["end"],
                                sortday=S.d0 + ae["start"]))


def rows_cm(S):
    """CM rows (prior lines with partial dates, subsequent therapy, AE medication), by start."""
    for r in S.rec["cm"]:
        yield dict(USUBJID=S.usubjid, CMTRT=r["trt"], CMCAT=r["cat"], CMSCAT=r["scat"],
                   CMINDC=r["indc"], CMSTDTC=r["start"], CMENDTC=r["end"],
                   _sort=(r["sortday"], r["trt"]))
