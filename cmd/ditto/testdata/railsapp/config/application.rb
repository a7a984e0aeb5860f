# A minimal Rails 6.1 app (Debian's packages, no Bundler) whose database
# comes from its production database through ditto.
require "rails"
require "active_record/railtie"
require "rails/test_unit/railtie"

module RailsApp
  class Application < Rails::Application
    config.load_defaults 6.1
    config.eager_load = false
    config.active_record.maintain_test_schema = true
    config.logger = Logger.new($stderr, level: :warn)
  end
end
