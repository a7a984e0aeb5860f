require "test_helper"

class WidgetTest < ActiveSupport::TestCase
  test "the pull request's column works" do
    assert Widget.create!(name: "a", color: "red").persisted?
    assert_equal 1, Widget.where(color: "red").count
  end
end
