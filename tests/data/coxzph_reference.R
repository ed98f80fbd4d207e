# Reference output of R survival's proportional-hazards test cox.zph (survival >= 3.0 score test)
# for tests/test_models.py (mpmlib.models.ph_score_test, cox_regression).
#
# Run from the project root:   Rscript tests/data/coxzph_reference.R
# Writes, next to this script, for each data set <name>:
#   coxzph_<name>_data.csv  the data used: time, status (1 = event, 0 = censored), numeric covariates
#   coxzph_<name>_coef.csv  coxph coefficients (ties, term, coef, loglik)
#   coxzph_<name>.csv       cox.zph tables: ties, transform, term, chisq, df, p (terms and GLOBAL)
# Every number is written with 17 significant digits; the R and survival versions are in the
# columns r_version and survival_version of every coef and table file. Uses only data shipped
# with R: survival's lung and veteran, MASS's gehan.

suppressPackageStartupMessages({
  library(survival)
  library(MASS)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script)) dirname(normalizePath(script)) else "tests/data"

r_version <- paste(R.version$major, R.version$minor, sep = ".")
survival_version <- as.character(packageVersion("survival"))
full <- function(x) sprintf("%.17g", x)

write_full <- function(frame, file) {
  for (col in names(frame)) if (is.double(frame[[col]])) frame[[col]] <- full(frame[[col]])
  write.csv(frame, file.path(out_dir, file), row.names = FALSE, quote = FALSE)
}

reference <- function(name, data, covariates, ties = c("efron", "breslow"),
                      transforms = c("km", "rank", "identity", "log")) {
  data <- data[complete.cases(data[, c("time", "status", covariates)]), c("time", "status", covariates)]
  rownames(data) <- NULL
  write_full(data, sprintf("coxzph_%s_data.csv", name))
  formula <- as.formula(paste("Surv(time, status) ~", paste(covariates, collapse = " + ")))
  coefs <- list()
  tables <- list()
  for (method in ties) {
    fit <- coxph(formula, data = data, ties = method)   # default control, as an analyst runs it
    coefs[[method]] <- data.frame(ties = method, term = names(coef(fit)), coef = unname(coef(fit)),
                                  loglik = fit$loglik[2])
    for (transform in transforms) {
      zph <- cox.zph(fit, transform = transform)$table
      tables[[paste(method, transform)]] <- data.frame(
        ties = method, transform = transform, term = rownames(zph),
        chisq = zph[, "chisq"], df = zph[, "df"], p = zph[, "p"])
    }
  }
  versions <- data.frame(r_version = r_version, survival_version = survival_version)
  write_full(cbind(do.call(rbind, coefs), versions), sprintf("coxzph_%s_coef.csv", name))
  write_full(cbind(do.call(rbind, tables), versions), sprintf("coxzph_%s.csv", name))
}

# (a) NCCTG lung cancer, complete cases of age, sex, ph.ecog (227 of 228); status recoded 2 -> 1.
lung_data <- transform(lung, status = status - 1)
names(lung_data)[names(lung_data) == "ph.ecog"] <- "ph_ecog"
reference("lung", lung_data, c("age", "sex", "ph_ecog"))

# (b) Veterans' Administration lung cancer trial (24 of its 97 death times tied); cell type as
# 0/1 dummies against squamous, as mpmlib codes categorical factors.
vet <- veteran
for (level in c("smallcell", "adeno", "large")) vet[[paste0("celltype_", level)]] <- as.numeric(vet$celltype == level)
reference("veteran", vet, c("trt", "karno", "diagtime", "age", "prior",
                            "celltype_smallcell", "celltype_adeno", "celltype_large"))

# (c) Heavy ties, small: Gehan's (1965) leukaemia remission times in weeks (Freireich et al. 1963),
# 42 patients, 30 remissions at 17 distinct times (up to 4 tied); treat 1 = 6-MP, 0 = control.
gehan_data <- data.frame(time = gehan$time, status = gehan$cens, treat = as.numeric(gehan$treat == "6-MP"))
reference("gehan", gehan_data, "treat")

# (d) Heavy ties with several covariates: lung with survival time grouped into 30.4375-day months.
lung_months <- transform(lung_data, time = ceiling(time / 30.4375))
reference("lungmonths", lung_months, c("age", "sex", "ph_ecog"))

cat("R", r_version, "survival", survival_version, "- written to", out_dir, "\n")
