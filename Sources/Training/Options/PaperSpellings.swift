// The paper code's option spellings (train.py / test.py of pytorch-CycleGAN-and-pix2pix, CUT's,
// and their older releases), so that a user who types them gets img2img's spelling or a note
// that the option has no use on a CPU, in every subcommand, instead of "unknown option".
//
//   PaperSpellings.hint(for: "load_size", accepted: ["load-size", ...])  // "... img2img spells it --load-size"
//   PaperSpellings.hint(for: "gpu_ids", accepted: [...])                 // "... img2img runs on the CPU: ..."

public enum PaperSpellings {
    /// Names the paper code uses for an option img2img spells otherwise.
    static let renamed: [String: String] = [
        "continue_train": "continue",
        "niter": "n-epochs",
        "niter_decay": "n-epochs-decay",
        "loadSize": "load-size",
        "fineSize": "crop-size",
        "resize_or_crop": "preprocess",
        "which_direction": "direction",
        "which_model_netG": "netG",
        "which_model_netD": "netD",
        "which_epoch": "epoch",
        "num_threads": "threads",
        "nThreads": "threads",
    ]

    /// Options of the paper code that have no counterpart here, and why.
    static let notApplicable: [String: String] = [
        "gpu_ids": "img2img runs on the CPU: --threads sets its compute threads, and `mpirun -np N img2img train ...` trains on N processes",
        "display_id": Self.display, "display_freq": Self.display, "display_ncols": Self.display,
        "display_winsize": Self.display, "display_server": Self.display, "display_env": Self.display,
        "display_port": Self.display, "update_html_freq": Self.display, "no_html": Self.display,
        "use_wandb": Self.display, "wandb_project_name": Self.display,
        "load_iter": "img2img's --continue resumes from latest.safetensors (saved every epoch, and every --save-latest-freq iterations)",
        "save_by_iter": "--save-latest-freq N saves latest.safetensors every N iterations",
        "verbose": "img2img prints the networks' sizes when a run starts",
        "suffix": "the run's folder is --checkpoints-dir/--name; options.json records every option",
        "isTrain": "train and test are subcommands (img2img train, img2img test)",
        "gpu": "img2img runs on the CPU: --threads sets its compute threads",
        "CUT_mode": "choose the model instead: img2img train cut, or img2img train fastcut",
        "easy_label": "not used by training",
        "aspect_ratio": "img2img keeps each image's own size",
        "display_all_val": Self.display,
    ]

    static let display = "img2img has no visdom or wandb display: progress is on the terminal, "
        + "the losses are in RUN/loss_log.jsonl and the plots and samples in RUN/index.html"

    /// Option names that mean something else per subcommand.
    static let bySubcommand: [String: [String: String]] = [
        "train": [
            "model": "the model is train's first argument: img2img train cyclegan|pix2pix|cut|... "
                + "(the paper code's cycle_gan is cyclegan)",
            "epoch": "the paper code's --epoch picks the checkpoint that --continue_train loads; "
                + "img2img's --continue resumes from latest.safetensors, exactly where it stopped",
            "phase": "train reads DATAROOT/train (or trainA and trainB)",
            "results_dir": "results are written by img2img test (its --results-dir)",
        ],
        "test": [
            "model": "the model type comes from the run's options.json (or give it as test's first argument: img2img test pix2pix ...)",
        ],
    ]

    /// img2img's name of a model the paper code names otherwise (cycle_gan: cyclegan).
    public static func modelName(_ paper: String) -> String? {
        ["cycle_gan": "cyclegan", "CUT": "cut", "FastCUT": "fastcut", "fast_cut": "fastcut", "pix2pix_model": "pix2pix"][paper]
    }

    /// A hint for `--name` (without dashes) that `subcommand` does not take: img2img's spelling
    /// when one of `accepted` (the subcommand's option names) matches, else why it does not
    /// apply; nil for a name that is no known paper-code option.
    public static func hint(for rawName: String, subcommand: String? = nil, accepted: [String]) -> String? {
        let name = rawName.split(separator: "=", maxSplits: 1).first.map(String.init) ?? rawName
        if let s = subcommand, let why = bySubcommand[s]?[name] { return "--\(name) is the paper code's: \(why)" }
        if let to = renamed[name] {
            if accepted.contains(to) { return "--\(name) is the paper code's spelling: img2img spells it --\(to)" }
            return "--\(name) is the paper code's --\(to)" + (to == "epoch" ? "" : ", which this command does not take")
        }
        if let why = notApplicable[name] ?? (name.hasPrefix("display_") ? display : nil) {
            return "--\(name) is the paper code's and does not apply here: \(why)"
        }
        // The general rule: snake_case in the paper code, kebab-case here (load_size, load-size).
        let kebab = name.replacingOccurrences(of: "_", with: "-")
        if kebab != name, let match = accepted.first(where: { $0.lowercased() == kebab.lowercased() }) {
            return "--\(name) is the paper code's spelling: img2img spells it --\(match)"
        }
        return nil
    }
}
