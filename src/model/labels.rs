//! Class names: one per line, line `i` naming class `i`.

/// The names of a classifier's classes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels(Vec<String>);

impl Labels {
    /// One label per line; `\r\n` line ends and trailing blank lines are ignored.
    pub fn parse(text: &str) -> Labels {
        let mut names: Vec<String> = text.lines().map(|line| line.trim_end().to_string()).collect();
        while names.last().is_some_and(|name| name.is_empty()) {
            names.pop();
        }
        Labels(names)
    }

    /// The class's name, or `class {n}` for a class the file does not name, so that a short or
    /// missing labels file never stops the maps from being drawn.
    pub fn name(&self, class: usize) -> String {
        match self.0.get(class) {
            Some(name) => name.clone(),
            None => format!("class {class}"),
        }
    }

    /// The class a label names, if one does.
    pub fn find(&self, label: &str) -> Option<usize> {
        self.0.iter().position(|name| name == label)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
